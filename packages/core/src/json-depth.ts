// How deep JSON may nest. Every walk over a parsed value recurses (the codec's restore, digests,
// printers, ajv), and a few thousand levels exhaust the stack: the codec refuses a deeper text at
// parse (CORRUPTED, naming its source), and a record is held a few levels under that, so whatever
// file or line wraps a record a store accepted is one it reads back.

/** How deep arrays and objects may nest in a parsed text (its top level counts as 1). */
export const MAX_JSON_DEPTH = 512;

/**
 * How deep a record may nest (the record object counts as 1): the files around it add a few levels
 * (a network file 2, a journal line 1, an export 3), all within MAX_JSON_DEPTH. Deployment state
 * nests a few levels; a struct argument a few more.
 */
export const MAX_RECORD_DEPTH = MAX_JSON_DEPTH - 12;
