// The `postgres` test project's set-up: one PostgreSQL cluster for the run (see postgres.ts).
import { startPostgresForStudios } from './postgres.ts';

export default function setup(): () => void {
  return startPostgresForStudios();
}
