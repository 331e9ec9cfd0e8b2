// The `postgres` test project's set-up: one PostgreSQL cluster for the run (see postgres.ts),
// whose URL only that project's test files receive.
import type { TestProject } from 'vitest/node';
import { startPostgresForStudios } from './postgres.ts';

export default function setup(project: TestProject): () => void {
  const cluster = startPostgresForStudios();
  project.provide('postgresUrl', cluster.url('postgres'));
  return () => cluster.stop();
}
