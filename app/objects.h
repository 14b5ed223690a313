/*
 * objects.h - GET/HEAD /v1/objects/{key}: stored videos for the processing service.
 */
#ifndef VG_APP_OBJECTS_H
#define VG_APP_OBJECTS_H

struct request;

/* Serves the object at key if the URL's signature (vg_sign) is valid:
 * 403 for a bad or expired signature, 404 for a malformed key or a missing
 * object, 206/416 for ranges. */
void objects_get(struct request *r, const char *key);

#endif
