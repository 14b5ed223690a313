// check.mjs - docs/openapi.yaml against the OpenAPI 3.1 schema, the sources,
// and real answers. Run by tests/integration/95_openapi.sh.
//
//   node check.mjs doc [--doc FILE]
//       The document is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator),
//       every $ref resolves, every schema compiles under JSON Schema 2020-12
//       (ajv, strict); the ErrorCode enum is exactly the codes vingest-fcgi
//       can answer (tests/unit/check_api_errors.pl --list), each under every
//       status the sources answer it with and under no other; every route of
//       app/router.c is a path here with exactly the methods the router takes
//       (router_allow), and no path here is one the router lacks.
//
//   node check.mjs answer METHOD PATH STATUS HEADERS BODY [--doc FILE]
//       A real answer (HEADERS as curl -D writes them, BODY its body) to
//       METHOD on PATH, a path of the document ("/v1/videos/{id}"), or "-"
//       for a path that is not in it. The status is documented for the
//       operation (a method the path does not take: 405, whose Allow must
//       name exactly the documented methods; "-": 404); every required
//       header of that response is present and every documented header
//       present matches its schema; the body is of a documented content
//       type and matches its schema (no body where none is documented, and
//       none for HEAD).
//
// Prints one line saying what was checked; exit status 1 with the reasons
// on failure.
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const ROOT_ID = "vingest:openapi";

const args = process.argv.slice(2);
let docPath = join(REPO, "docs", "openapi.yaml");
const i = args.indexOf("--doc");
if (i >= 0) {
	docPath = args[i + 1];
	args.splice(i, 2);
}

const problems = [];
const fail = (msg) => problems.push(msg);
function finish(okLine) {
	if (problems.length) {
		for (const p of problems) console.log(`# ${p}`);
		console.log(`FAIL: ${okLine}`);
		process.exit(1);
	}
	console.log(okLine);
	process.exit(0);
}

const doc = parse(readFileSync(docPath, "utf8"), { maxAliasCount: -1 });

// ---- $refs

function pointer(ref) {
	if (!ref.startsWith("#/")) throw new Error(`only local $refs are used here: ${ref}`);
	let v = doc;
	for (const part of ref.slice(2).split("/")) {
		const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
		if (v === null || typeof v !== "object" || !(key in v)) return undefined;
		v = v[key];
	}
	return v;
}

// An object that is a $ref (response, header, parameter, path item), followed.
function deref(o) {
	for (let n = 0; o && typeof o === "object" && typeof o.$ref === "string" && n < 10; n++) {
		const to = pointer(o.$ref);
		if (to === undefined) throw new Error(`$ref ${o.$ref} resolves to nothing`);
		o = to;
	}
	return o;
}

// ---- schemas: ajv with the component schemas under one root

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);

// The document's "#/components/schemas/X" as "vingest:openapi#/$defs/X".
function rewrite(schema) {
	if (Array.isArray(schema)) return schema.map(rewrite);
	if (schema === null || typeof schema !== "object") return schema;
	const out = {};
	for (const [k, v] of Object.entries(schema)) {
		if (k === "$ref" && typeof v === "string") {
			const m = v.match(/^#\/components\/schemas\/(.+)$/);
			if (!m) throw new Error(`a schema $ref outside components/schemas: ${v}`);
			out[k] = `${ROOT_ID}#/$defs/${m[1]}`;
		} else {
			out[k] = rewrite(v);
		}
	}
	return out;
}
ajv.addSchema({ $id: ROOT_ID, $defs: rewrite(doc.components?.schemas ?? {}) });

const compiled = new Map();
function validator(schema) {
	if (!compiled.has(schema)) compiled.set(schema, ajv.compile(rewrite(schema)));
	return compiled.get(schema);
}

function errorsOf(validate) {
	return (validate.errors ?? [])
		.map((e) => `${e.instancePath || "(root)"} ${e.message} ${JSON.stringify(e.params)}`)
		.join("; ");
}

// ---- operations and responses

function pathItem(path) {
	return deref(doc.paths?.[path]);
}

function methodsOf(item) {
	return METHODS.filter((m) => item && item[m]);
}

function* operations() {
	for (const path of Object.keys(doc.paths ?? {})) {
		const item = pathItem(path);
		for (const m of methodsOf(item)) yield [path, m, item[m]];
	}
}

// The error codes a response's JSON schema allows (narrowed enum), or null.
function narrowedCodes(schema, depth = 0) {
	if (!schema || typeof schema !== "object" || depth > 5) return null;
	const code = schema.properties?.error?.properties?.code;
	if (code && Array.isArray(code.enum)) return code.enum;
	if (typeof schema.$ref === "string") return narrowedCodes(pointer(schema.$ref), depth + 1);
	return null;
}

// ---- doc

async function checkDoc() {
	const v = new Validator();
	const res = await v.validate(doc);
	if (!res.valid) fail(`not a valid OpenAPI document: ${JSON.stringify(res.errors).slice(0, 2000)}`);
	if (!/^3\.1\.\d+$/.test(String(doc.openapi)) || v.version !== "3.1")
		fail(`not OpenAPI 3.1 (openapi: ${doc.openapi}, validated as ${v.version})`);

	// every $ref resolves
	let refs = 0;
	(function walk(o, at) {
		if (Array.isArray(o)) return o.forEach((x, k) => walk(x, `${at}/${k}`));
		if (o === null || typeof o !== "object") return;
		for (const [k, x] of Object.entries(o)) {
			if (k === "$ref" && typeof x === "string") {
				refs++;
				if (pointer(x) === undefined) fail(`${at}: $ref ${x} resolves to nothing`);
			} else {
				walk(x, `${at}/${k}`);
			}
		}
	})(doc, "#");

	// every schema compiles (strict: no unknown keyword, no bad pattern)
	let schemas = 0;
	const compile = (schema, at) => {
		try {
			validator(schema);
			schemas++;
		} catch (e) {
			fail(`${at}: schema does not compile: ${e.message}`);
		}
	};
	for (const [name, s] of Object.entries(doc.components?.schemas ?? {}))
		compile(s, `components/schemas/${name}`);

	// operations: responses, their headers and content
	const docCodes = new Map(); // code -> Set of statuses
	let ops = 0;
	for (const [path, m, op] of operations()) {
		ops++;
		const where = `${m.toUpperCase()} ${path}`;
		if (!Array.isArray(op.security)) fail(`${where}: no security requirement stated (use [] for none)`);
		for (const p of [...(pathItem(path).parameters ?? []), ...(op.parameters ?? [])])
			compile(deref(p).schema ?? {}, `${where} parameter ${deref(p).name}`);
		const statuses = Object.keys(op.responses ?? {});
		if (!statuses.some((s) => /^2\d\d$/.test(s))) fail(`${where}: no 2xx response`);
		for (const st of statuses) {
			if (!/^[1-5]\d\d$/.test(st)) fail(`${where}: response ${st} is not one status`);
			const r = deref(op.responses[st]);
			for (const [h, ho] of Object.entries(r.headers ?? {}))
				compile(deref(ho).schema ?? {}, `${where} ${st} header ${h}`);
			for (const [ct, mt] of Object.entries(r.content ?? {})) {
				if (mt.schema) compile(mt.schema, `${where} ${st} ${ct}`);
				if (Number(st) >= 400 && ct === "application/json") {
					const codes = narrowedCodes(mt.schema);
					if (!codes) {
						fail(`${where} ${st}: an error response must narrow error.code to its codes`);
						continue;
					}
					for (const c of codes) {
						if (!docCodes.has(c)) docCodes.set(c, new Set());
						docCodes.get(c).add(st);
					}
				}
			}
		}
	}

	// the answers to what no operation takes (used by the answer mode)
	for (const [name, st] of [["MethodNotAllowed", "405"], ["NoSuchResource", "404"]]) {
		const r = deref(doc.components?.responses?.[name]);
		const codes = narrowedCodes(r?.content?.["application/json"]?.schema);
		if (!codes) fail(`components/responses/${name}: missing, or not narrowing error.code`);
		for (const c of codes ?? []) {
			if (!docCodes.has(c)) docCodes.set(c, new Set());
			docCodes.get(c).add(st);
		}
	}

	// the codes, against the sources
	const out = execFileSync("perl", [join(REPO, "tests/unit/check_api_errors.pl"), "--list"], {
		env: { ...process.env, VG_SRCDIR: REPO },
		encoding: "utf8",
	});
	const srcCodes = new Map();
	for (const line of out.split("\n").filter(Boolean)) {
		const [code, ...st] = line.split(" ");
		srcCodes.set(code, new Set(st));
	}
	if (srcCodes.size < 40) fail(`check_api_errors.pl --list gave only ${srcCodes.size} codes`);
	const enumCodes = new Set(doc.components?.schemas?.ErrorCode?.enum ?? []);
	for (const c of srcCodes.keys()) {
		if (!enumCodes.has(c)) fail(`ErrorCode lacks ${c}, which the sources answer`);
		if (!docCodes.has(c)) fail(`no error response carries ${c}, which the sources answer`);
	}
	for (const c of enumCodes) if (!srcCodes.has(c)) fail(`ErrorCode has ${c}, which the sources never answer`);
	for (const c of docCodes.keys()) if (!enumCodes.has(c)) fail(`a response narrows to ${c}, which is not in ErrorCode`);
	for (const [c, st] of srcCodes) {
		for (const s of st)
			if (!docCodes.get(c)?.has(s)) fail(`the sources answer ${s} ${c}; no ${s} response here carries it`);
		for (const s of docCodes.get(c) ?? [])
			if (st.size && !st.has(s)) fail(`${s} ${c} is documented here; the sources answer ${c} only with ${[...st].join(", ")}`);
	}

	// the routes, against app/router.c
	const router = readFileSync(join(REPO, "app/router.c"), "utf8");
	const allowFn = router.match(/const char \*router_allow\(const char \*p\)\s*\{([\s\S]*?)\n\}/);
	const dispatchFn = router.match(/void router_dispatch\(struct request \*r\)\s*\{([\s\S]*?)\n\}/);
	if (!allowFn || !dispatchFn) {
		fail("app/router.c: router_allow or router_dispatch not found");
		return finish("doc");
	}
	const routes = []; // {path, exact, methods}
	for (const [, cond, methods] of allowFn[1].matchAll(/if\s*\(([\s\S]*?)\)\s*return\s+"([^"]+)";/g)) {
		for (const [, fn, lit] of cond.matchAll(/\b(strcmp|strncmp)\(p,\s*"([^"]+)"/g))
			routes.push({ path: lit, exact: fn === "strcmp", methods: methods.split(/,\s*/).sort() });
	}
	if (routes.length < 6) fail(`router_allow gave only ${routes.length} routes`);
	const routeOf = (p) =>
		routes.find((r) => (r.exact ? p === r.path : p.startsWith(r.path) && p.length > r.path.length));
	for (const lit of new Set([...dispatchFn[1].matchAll(/\bstrn?cmp\(p,\s*"([^"]+)"/g)].map((x) => x[1]))) {
		if (!routes.some((r) => r.path === lit || r.path.startsWith(lit)))
			fail(`router_dispatch matches ${lit}, which router_allow does not list`);
	}
	for (const r of routes) {
		const docPaths = Object.keys(doc.paths ?? {}).filter((p) => routeOf(p) === r);
		if (!docPaths.length) fail(`the router's ${r.exact ? "path" : "prefix"} ${r.path} is not in paths`);
		for (const p of docPaths) {
			const got = methodsOf(pathItem(p)).map((x) => x.toUpperCase()).sort();
			if (got.join(",") !== r.methods.join(","))
				fail(`${p}: the router takes ${r.methods.join(", ")}; documented: ${got.join(", ")}`);
		}
	}
	for (const p of Object.keys(doc.paths ?? {})) if (!routeOf(p)) fail(`${p} is documented; the router has no such path`);

	finish(
		`doc: ${docPath.startsWith(REPO) ? docPath.slice(REPO.length + 1) : docPath} is valid OpenAPI ${doc.openapi}; ` +
			`${ops} operations, ${refs} $refs, ${schemas} schemas compiled; ` +
			`${enumCodes.size} error codes = the sources'; ${routes.length} routes = app/router.c's`,
	);
}

// ---- answer

// The last header block of curl -D: status and headers (names lower-cased).
function readHeaders(file) {
	const blocks = readFileSync(file, "latin1").split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b));
	const lines = (blocks.at(-1) ?? "").split(/\r?\n/);
	const status = Number((lines.shift() ?? "").split(" ")[1]);
	const h = new Map();
	for (const l of lines) {
		const k = l.indexOf(":");
		if (k > 0) {
			const name = l.slice(0, k).trim().toLowerCase();
			const v = l.slice(k + 1).trim();
			h.set(name, h.has(name) ? `${h.get(name)}, ${v}` : v);
		}
	}
	// A header sent twice with one value is that value (Apache joins the
	// two into "v, v"; a client reads the same as from one).
	for (const [name, v] of h) {
		const parts = v.split(/\s*,\s*/);
		if (parts.length > 1 && parts.every((p) => p === parts[0])) h.set(name, parts[0]);
	}
	return { status, h };
}

// A header value as its schema's type wants it.
function headerValue(v, schema) {
	const s = schema?.$ref ? pointer(schema.$ref) : schema;
	const types = [s?.type ?? (typeof s?.const === "number" ? "integer" : null)].flat();
	if ((types.includes("integer") || types.includes("number")) && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
	return v;
}

function checkAnswer([method, path, statusArg, headersFile, bodyFile]) {
	const m = (method ?? "").toLowerCase();
	const status = String(statusArg);
	const what = `${method} ${path} ${status}`;
	if (!m || !path || !/^\d{3}$/.test(status) || !headersFile || !bodyFile) {
		console.log("usage: check.mjs answer METHOD PATH STATUS HEADERS BODY [--doc FILE]");
		process.exit(2);
	}
	const { status: got, h } = readHeaders(headersFile);
	const body = readFileSync(bodyFile);
	if (String(got) !== status) fail(`the headers say status ${got}, not ${status}`);

	let response;
	let item = null;
	if (path === "-") {
		if (status !== "404") fail(`a path not in the document answered ${status}; documented: 404`);
		response = deref(doc.components.responses.NoSuchResource);
	} else {
		item = pathItem(path);
		if (!item) {
			fail(`${path} is not a path of the document`);
			return finish(what);
		}
		const op = item[m];
		if (!op) {
			if (status !== "405") fail(`${method} is not documented for ${path}, and it answered ${status}, not 405`);
			response = deref(doc.components.responses.MethodNotAllowed);
			const allow = (h.get("allow") ?? "").split(/,\s*/).filter(Boolean).sort().join(", ");
			const want = methodsOf(item).map((x) => x.toUpperCase()).sort().join(", ");
			if (allow !== want) fail(`Allow: ${h.get("allow")}; the document gives ${path} ${want}`);
		} else {
			response = deref(op.responses?.[status]);
			if (!response) {
				fail(`${status} is not documented for ${method} ${path} (documented: ${Object.keys(op.responses ?? {}).join(" ")})`);
				return finish(what);
			}
		}
	}

	let nh = 0;
	for (const [name, ho0] of Object.entries(response.headers ?? {})) {
		const ho = deref(ho0);
		const v = h.get(name.toLowerCase());
		if (v === undefined) {
			if (ho.required) fail(`required header ${name} is missing`);
			continue;
		}
		nh++;
		if (ho.schema) {
			const validate = validator(ho.schema);
			if (!validate(headerValue(v, ho.schema))) fail(`header ${name}: ${v}: ${errorsOf(validate)}`);
		}
	}

	const content = response.content ?? {};
	const types = Object.keys(content);
	let bodyNote = "no body";
	if (m === "head" || !types.length) {
		if (body.length) fail(`a body of ${body.length} bytes where none is documented${m === "head" ? " (HEAD)" : ""}`);
	} else if (!body.length && response["x-body-optional"]) {
		bodyNote = "no body (optional)";
	} else {
		const ct = (h.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
		const mt = content[ct];
		if (!mt) {
			fail(`Content-Type ${h.get("content-type")}; documented: ${types.join(", ")}`);
		} else if (!body.length) {
			fail(`no body; documented: ${ct}`);
		} else {
			bodyNote = `${ct} body`;
			let value = body.toString("utf8");
			if (ct === "application/json" || ct.endsWith("+json")) {
				try {
					value = JSON.parse(value);
				} catch (e) {
					fail(`the body is not JSON: ${e.message}`);
				}
			}
			if (mt.schema && ct !== "application/octet-stream" && !problems.length) {
				const validate = validator(mt.schema);
				if (!validate(value)) fail(`the body does not match the schema: ${errorsOf(validate)}`);
				else bodyNote += " matches its schema";
			}
		}
	}
	finish(`${what}: documented; ${nh} documented headers checked; ${bodyNote}`);
}

if (args[0] === "doc") await checkDoc();
else if (args[0] === "answer") checkAnswer(args.slice(1));
else {
	console.log("usage: check.mjs doc | answer METHOD PATH STATUS HEADERS BODY [--doc FILE]");
	process.exit(2);
}
