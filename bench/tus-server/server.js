// The reference resumable-upload server vingest's tus is measured against:
// @tus/server with @tus/file-store, as its README sets it up, nothing tuned.
// It stores each upload as a file plus a JSON sidecar; it does not fsync and
// has no database, so it does less than vingest for every upload.
//
//   node server.js PORT DIRECTORY
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [port, directory] = process.argv.slice(2);
if (!port || !directory) {
	console.error('usage: node server.js PORT DIRECTORY');
	process.exit(2);
}
const server = new Server({
	path: '/files',
	relativeLocation: true,
	datastore: new FileStore({ directory }),
});
server.listen({ host: '127.0.0.1', port: Number(port) }, () => {
	console.log(`@tus/server listening on http://127.0.0.1:${port}/files, files in ${directory}`);
});
