// Package event is the CloudTrail record: its fields (schema 1.11 and every older 1.0x version),
// parsing that keeps the producer's original bytes, validation whose errors name the field, and the
// derived values event history looks up by (user name, resources, category).
//
// A Record never re-serialises the producer's JSON: Raw holds the bytes that are journaled,
// delivered, exported and returned as CloudTrailEvent. Unknown fields therefore survive untouched.
package event
