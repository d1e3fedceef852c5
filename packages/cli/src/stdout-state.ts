// Whether this run already wrote its one JSON document to stdout (then a late error adds none).
export const stdoutState = { documentWritten: false };
