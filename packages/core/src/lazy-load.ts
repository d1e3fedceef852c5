// Loading a package on first use, safely after a FIFO was looked at. Node 20's fs.realpathSync,
// which require() and import() use to follow a package's link (pnpm installs every package
// behind one), reads the result of the last stat made anywhere in the process: right after a
// stat of a FIFO or a socket it stops early, keeps the link's own path, and the package's
// dependencies are then not found ("Cannot find module"). The stores stat what stands at a state
// file's path to refuse a FIFO there (NOT_A_FILE); a package they load later would then fail.
import { statSync } from 'node:fs';

/** Call right before loading a package on first use: the last stat of the process is then of a regular file. */
export function beforeLazyLoad(): void {
  statSync(process.execPath, { throwIfNoEntry: false });
}
