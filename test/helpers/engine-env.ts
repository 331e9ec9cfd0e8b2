// Set-up file of both test projects: a `postgres` project file's studios (and the server
// processes it starts) use the run's PostgreSQL cluster; a `sqlite` project file's never do.
import { inject } from 'vitest';

const postgresUrl = inject('postgresUrl');
if (postgresUrl) process.env.SIMSTUDIO_TEST_POSTGRES = postgresUrl;
else delete process.env.SIMSTUDIO_TEST_POSTGRES;
