// The helper's one atomic-write helper: temp file (O_EXCL|O_NOFOLLOW) + fsync + rename + fsync of
// the folder, and no-follow opens for the state files. The code lives in the host layer
// (app/host/trust/files.ts) so the host's own stores (the VBIOS store) use the very same.
export { createExclusive, fsyncDir, openAppendNoFollow, openNoFollow, replaceFileAtomic } from '../../host/trust/files.js';
