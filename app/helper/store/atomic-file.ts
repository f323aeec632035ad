// The helper's one atomic-write helper: temp file (O_EXCL|O_NOFOLLOW) + fsync + rename + fsync of
// the folder, no-follow opens for the state files, and the one checked read of a state file
// (no link, a regular file root alone could write: readStateFile). The code lives in the host layer
// (app/host/trust/files.ts) so the host's own stores (the VBIOS store) use the very same.
export { checkStateFile, createExclusive, fsyncDir, openAppendNoFollow, openNoFollow, readStateFile, replaceFileAtomic, StateFileError } from '../../host/trust/files.js';
