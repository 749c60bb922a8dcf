// Fetches artifacts from Maven Central with the machine's own `mvn`, into the project-local repository
// (.capacity/cache/m2), so a second install on the same checkout downloads nothing.
import { spawnSync } from 'node:child_process';
import { UserError } from '../core/errors.ts';
import { run } from './process.ts';

const dependencyPlugin = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

export function assertMaven(): void {
  if (spawnSync('mvn', ['-v'], { encoding: 'utf8' }).status !== 0) {
    throw new UserError('Maven (mvn) is not installed: install it with `apt-get install maven`');
  }
}

/** Copies a project's runtime classpath (from a pom) into outDir. */
export async function copyDependencies(pom: string, outDir: string, m2: string): Promise<void> {
  assertMaven();
  await run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      pom,
      `-Dmaven.repo.local=${m2}`,
      `${dependencyPlugin}:copy-dependencies`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${outDir}`,
    ],
    { what: `mvn copy-dependencies (${pom})` },
  );
}

/** Copies one artifact (groupId:artifactId:version:type) into outDir. */
export async function copyArtifact(coordinates: string, outDir: string, m2: string): Promise<void> {
  assertMaven();
  await run(
    'mvn',
    ['-B', '-q', `-Dmaven.repo.local=${m2}`, `${dependencyPlugin}:copy`, `-Dartifact=${coordinates}`, `-DoutputDirectory=${outDir}`],
    { what: `mvn copy ${coordinates}` },
  );
}
