// status's next commands beside a file system that refuses writes: none is ready, each naming the
// file system (every command status lists writes the state folder at least: analyze's and report's
// files, verify's evidence); a gate that already blocks one keeps its own reason.
import { describe, expect, it } from 'vitest';
import { blockedByDisk, diskRefusal, type FileSystemStatus } from '../src/index.js';
import type { NextCommand } from '../src/machine.js';

const room: FileSystemStatus['room'] = { freeBytes: 0, totalBytes: 1, freeInodes: 10, totalInodes: 10 };
const roomy: FileSystemStatus = { holds: ['leveldb'], path: '/p/leveldb', room };
const full: FileSystemStatus = { holds: ['deployments', 'state'], path: '/p/deployments', room, exhausted: 'inodes' };
const readOnly: FileSystemStatus = { holds: ['state'], path: '/p/.deploystate', room, notWritable: { code: 'PERMISSION_DENIED', message: 'read-only (EROFS)' } };

const next: NextCommand[] = [
  { command: 'migrate', ready: true },
  { command: 'verify', ready: true },
  { command: 'promote', ready: false, gate: 'clean verify', blockedBy: 'never verified' },
  { command: 'report', ready: true },
  { command: 'analyze', ready: true },
];

describe('diskRefusal and blockedByDisk', () => {
  it('leave the commands alone while every file system takes writes', () => {
    expect(diskRefusal([roomy])).toBeUndefined();
    expect(blockedByDisk(next, diskRefusal([roomy]))).toEqual(next);
  });

  it('name the full file system and what it holds, and leave no command ready', () => {
    expect(diskRefusal([roomy, full])).toEqual({ code: 'DISK_FULL', reason: 'no free inodes on the file system of the deployments, state folder: /p/deployments' });
    const blocked = blockedByDisk(next, diskRefusal([roomy, full]));
    expect(blocked.map((n) => [n.command, n.ready])).toEqual([
      ['migrate', false],
      ['verify', false],
      ['promote', false],
      ['report', false],
      ['analyze', false],
    ]);
    expect(blocked[0]?.blockedBy).toBe('DISK_FULL: no free inodes on the file system of the deployments, state folder: /p/deployments');
    // A gate that already blocks keeps its own reason.
    expect(blocked[2]?.blockedBy).toBe('never verified');
  });

  it("give a read-only file system's error code, before the no-space a read-only mount may report too", () => {
    expect(blockedByDisk(next, diskRefusal([readOnly]))[0]?.blockedBy).toBe('PERMISSION_DENIED: the file system of the state folder: /p/.deploystate refuses writes');
    expect(diskRefusal([{ ...readOnly, exhausted: 'space' }])?.code).toBe('PERMISSION_DENIED');
    // A test write refused as full where the counts show room (a quota): still refused.
    expect(diskRefusal([{ ...roomy, notWritable: { code: 'DISK_FULL', message: 'no space' } }])).toEqual({ code: 'DISK_FULL', reason: 'the file system of the LevelDB: /p/leveldb refuses writes' });
  });
});
