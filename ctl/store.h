/*
 * store.h - vingestctl's `store` commands: look at and repair the object
 * store through the same interface the daemons use, whatever the backend.
 */
#ifndef VG_CTL_STORE_H
#define VG_CTL_STORE_H

struct vg_config;
struct vg_shards;

/*
 * argv[0] is the subcommand:
 *   check            the store works (exit 0) or why not
 *   ls               every object: key and size (--json: an array)
 *   stat KEY         size of one object
 *   get KEY [FILE]   its bytes to FILE (default stdout)
 *   put KEY FILE     stores FILE as KEY (repairs; tests)
 *   rm KEY           removes one object
 *   url KEY          the signed URL the processing service would get for it
 * With the db backend a KEY's bytes are on the shard its video id names;
 * check and ls cover every shard.
 * Returns 0, 1 (not found / failed) or 2 (usage).
 */
int store_command(struct vg_shards *sh, const struct vg_config *cfg, int argc, char **argv,
		  int json);

#endif
