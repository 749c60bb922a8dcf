// PostgreSQL and Elasticsearch refuse to run as root. When the tool runs as root it creates a system user
// `capacity` and runs those servers as that user; otherwise everything runs as the current user.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../core/errors.ts';

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  /** True when servers must be started with uid/gid switched (we are root). */
  switchUser: boolean;
}

export const SERVICE_USER = 'capacity';

export function currentUser(): ServiceUser {
  const info = os.userInfo();
  return { name: info.username, uid: info.uid, gid: info.gid, switchUser: false };
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const res = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (res.status !== 0) return undefined;
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { uid: Number(res.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The user servers run as; creates it when running as root and it does not exist yet. */
export function ensureServiceUser(create = true): ServiceUser {
  if (process.getuid?.() !== 0) return currentUser();
  let ids = lookupUser(SERVICE_USER);
  if (!ids && create) {
    const res = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVICE_USER], {
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new UserError(`could not create the service user "${SERVICE_USER}": ${res.stderr.trim()}`);
    ids = lookupUser(SERVICE_USER);
  }
  if (!ids) return { name: SERVICE_USER, uid: -1, gid: -1, switchUser: true };
  return { name: SERVICE_USER, ...ids, switchUser: true };
}

/** Spawn options that run a child as the service user. */
export function asServiceUser(user: ServiceUser): { uid?: number; gid?: number } {
  return user.switchUser ? { uid: user.uid, gid: user.gid } : {};
}

/** Recursively hands a directory to the service user (no-op when not root). */
export function chownTree(dir: string, user: ServiceUser): void {
  if (!user.switchUser) return;
  const walk = (p: string) => {
    fs.lchownSync(p, user.uid, user.gid);
    const st = fs.lstatSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(`${p}/${e}`);
  };
  walk(dir);
}

/**
 * Lets the service user pass through every folder above `dir` that it cannot enter (a checkout in a 0700 folder
 * such as mktemp's): execute-only for that one user through an ACL entry, nothing for anyone else. Without setfacl
 * it says what to do in one line.
 */
export function grantPassage(dir: string, user: ServiceUser, step: (msg: string) => void): void {
  if (!user.switchUser) return;
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const ancestor = path.sep + parts.slice(0, i).join(path.sep);
    if (spawnSync('test', ['-x', ancestor], { uid: user.uid, gid: user.gid }).status === 0) continue;
    const res = spawnSync('setfacl', ['-m', `u:${user.name}:x`, ancestor], { encoding: 'utf8' });
    if (res.status !== 0) {
      throw new UserError(
        `user "${user.name}" cannot enter ${ancestor} and setfacl could not let it (${(res.stderr || String(res.error)).trim()}): ` +
          `run \`setfacl -m u:${user.name}:x ${ancestor}\`, move the checkout, or set CAPACITY_HOME to a folder it can reach`,
      );
    }
    step(`${ancestor}: the service user "${user.name}" may now pass through it (ACL u:${user.name}:x)`);
  }
}

/** Fails clearly when the service user cannot reach a path (e.g. the checkout is under a private home). */
export function assertUserCanRead(path: string, user: ServiceUser): void {
  if (!user.switchUser) return;
  const res = spawnSync('test', ['-r', path], { uid: user.uid, gid: user.gid });
  if (res.status !== 0) {
    throw new UserError(
      `user "${user.name}" cannot read ${path}; move the checkout to a readable place or set CAPACITY_HOME to a folder it can reach`,
    );
  }
}
