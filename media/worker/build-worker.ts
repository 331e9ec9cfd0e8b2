// Builds mediasoup's C++ worker from the npm package's own sources against Debian's
// system libraries, with no network access. Upstream's build wants pip-installed
// meson and meson subprojects fetched from GitHub/wrapdb; neither is reachable here.
//
// Every patch names the exact source text it replaces and fails loudly when that text
// is missing, so a mediasoup version bump cannot silently skip a patch.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureAptPackages, WORKER_BUILD_PACKAGES } from '../../scripts/system-packages.ts';

/** Bump whenever a patch below changes: it is part of the worker cache key. */
export const PATCH_REVISION = 1;

const KEYED_LIBRARIES = [
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'libflatbuffers-dev',
  'g++',
];

export function systemLibraryVersions(): Array<[string, string]> {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Version}\\n', ...KEYED_LIBRARIES], {
    encoding: 'utf8',
  });
  const installed = new Map(
    (query.stdout ?? '')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
  return KEYED_LIBRARIES.map((name) => [name, installed.get(name) ?? 'missing']);
}

interface Patch {
  file: string;
  why: string;
  find: string | RegExp;
  replace: string;
}

// Replaces every subproject() with Debian's system libraries (pkg-config names).
const SYSTEM_DEPENDENCIES = `# SimStudio: Debian system libraries instead of meson subprojects (offline build).
openssl_dep = dependency('openssl', version: '>= 3.0')
libuv_dep = dependency('libuv', version: '>= 1.44')
libsrtp2_system_dep = dependency('libsrtp2', version: '>= 2.4')
# mediasoup includes <srtp.h>; Debian installs it under srtp2/.
libsrtp3_dep = declare_dependency(
  dependencies: libsrtp2_system_dep,
  compile_args: ['-I' + libsrtp2_system_dep.get_variable(pkgconfig: 'includedir') + '/srtp2'],
)
usrsctp_dep = dependency('usrsctp')
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_flat_hash_map'),
  dependency('absl_flat_hash_set'),
  dependency('absl_btree'),
  dependency('absl_inlined_vector'),
  dependency('absl_memory'),
])
absl_strings_dep = dependency('absl_strings')
absl_types_dep = dependency('absl_optional')
flatbuffers_dep = dependency('flatbuffers', version: '>= 2.0')

`;

const PATCHES: Patch[] = [
  {
    file: 'meson.build',
    why: "Debian 12 ships meson 1.0.1; nothing newer than 0.63's features is used",
    find: "meson_version: '>= 1.1.0',",
    replace: "meson_version: '>= 0.63.0',",
  },
  {
    file: 'meson.build',
    why: 'subprojects need the network; use system libraries',
    find: /openssl_proj = subproject\([\s\S]*?\n(?=# flatbuffers schemas subdirectory\.)/,
    replace: SYSTEM_DEPENDENCIES,
  },
  {
    file: 'meson.build',
    why: 'dependency list now refers to the system dependencies',
    find: /dependencies = \[\n  abseil_cpp_proj[\s\S]*?\nlink_whole = \[[\s\S]*?\n\]\n/,
    replace: `dependencies = [
  absl_container_dep,
  openssl_dep,
  libuv_dep,
  libsrtp3_dep,
  usrsctp_dep,
  flatbuffers_dep,
  flatbuffers_generator_dep,
  libwebrtc_dep,
]

link_whole = [
  libwebrtc,
]
`,
  },
  {
    file: 'meson.build',
    why: "Windows-only wingetopt and Linux liburing (Debian's is too old; io_uring is an optional send-path optimisation)",
    find: /if host_machine\.system\(\) == 'windows'\n  wingetopt_proj[\s\S]*?\n(?=libmediasoup_worker = library\()/,
    replace: '',
  },
  {
    file: 'meson.build',
    why: 'catch2 tests and libFuzzer targets need subprojects from the network',
    find: /\ntest_sources = \[[\s\S]*$/,
    replace: '\n',
  },
  {
    file: 'deps/libwebrtc/meson.build',
    why: 'abseil comes from the system',
    find: "abseil_cpp_proj = subproject(\n  'abseil-cpp',\n  default_options: [\n    'warning_level=0',\n  ],\n)\n",
    replace: '',
  },
  {
    file: 'deps/libwebrtc/meson.build',
    why: 'system dependency names',
    find: /(\w+)_proj\.get_variable\('(\w+)'\)/g,
    replace: '$2',
  },
  {
    file: 'include/RTC/SrtpSession.hpp',
    why: 'libsrtp2 API name',
    find: 'srtp_stream_remove(',
    replace: 'srtp_remove_stream(',
  },
  {
    file: 'src/DepLibSRTP.cpp',
    why: 'error codes that exist only in libsrtp 3',
    find: `,
	{ srtp_err_status_buffer_small,  "out buffer is too small" },
	{ srtp_err_status_cryptex_err,   "unsupported cryptex operation" }
`,
    replace: '\n',
  },
  {
    file: 'src/RTC/SrtpSession.cpp',
    why: 'libsrtp2 protects in place with an int length',
    find: `		const srtp_err_status_t err = srtp_protect(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* rtp*/ *data,
		  /*size_t rtp_len*/ *len,
		  /*uint8_t* srtp*/ encryptBuffer,
		  /*size_t* srtp_len*/ std::addressof(encryptLen),
		  /*size_t mki_index*/ 0);
`,
    replace: `		std::memcpy(encryptBuffer, *data, *len);
		int encryptLenInt = static_cast<int>(*len);
		const srtp_err_status_t err =
		  srtp_protect(this->session, encryptBuffer, std::addressof(encryptLenInt));
		encryptLen = static_cast<size_t>(encryptLenInt);
`,
  },
  {
    file: 'src/RTC/SrtpSession.cpp',
    why: 'libsrtp2 unprotects in place with an int length',
    find: `		const srtp_err_status_t err = srtp_unprotect(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* srtp*/ data,
		  /*size_t srtp_len*/ *len,
		  /*uint8_t* rtp*/ data,
		  /*size_t* rtp_len*/ std::addressof(decryptLen));
`,
    replace: `		int decryptLenInt = static_cast<int>(*len);
		const srtp_err_status_t err =
		  srtp_unprotect(this->session, data, std::addressof(decryptLenInt));
		decryptLen = static_cast<size_t>(decryptLenInt);
`,
  },
  {
    file: 'src/RTC/SrtpSession.cpp',
    why: 'libsrtp2 protects RTCP in place with an int length',
    find: `		const srtp_err_status_t err = srtp_protect_rtcp(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* rtcp*/ *data,
		  /*size_t rtcp_len*/ *len,
		  /*uint8_t* srtcp*/ encryptBuffer,
		  /*size_t* srtcp_len*/ std::addressof(encryptLen),
		  /*size_t mki_index*/ 0);
`,
    replace: `		std::memcpy(encryptBuffer, *data, *len);
		int encryptLenInt = static_cast<int>(*len);
		const srtp_err_status_t err =
		  srtp_protect_rtcp(this->session, encryptBuffer, std::addressof(encryptLenInt));
		encryptLen = static_cast<size_t>(encryptLenInt);
`,
  },
  {
    file: 'src/RTC/SrtpSession.cpp',
    why: 'libsrtp2 unprotects RTCP in place with an int length',
    find: `		const srtp_err_status_t err = srtp_unprotect_rtcp(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* srtcp*/ data,
		  /*size_t srtcp_len*/ *len,
		  /*uint8_t* rtcp*/ data,
		  /*size_t* rtcp_len*/ std::addressof(decryptLen));
`,
    replace: `		int decryptLenInt = static_cast<int>(*len);
		const srtp_err_status_t err =
		  srtp_unprotect_rtcp(this->session, data, std::addressof(decryptLenInt));
		decryptLen = static_cast<size_t>(decryptLenInt);
`,
  },
  {
    file: 'src/RTC/SrtpSession.cpp',
    why: 'std::memcpy for the in-place copies above',
    find: '#include "RTC/SrtpSession.hpp"\n',
    replace: '#include "RTC/SrtpSession.hpp"\n#include <cstring>\n',
  },
  {
    file: 'src/RTC/DtlsTransport.cpp',
    why:
      'BIO_CB_RETURN is a flag combined with the operation: with Debian OpenSSL 3.0 the == test ' +
      'makes every post-operation BIO_ctrl report 1 and the worker SIGSEGVs in SSL_read after ' +
      "Chrome's ClientHello",
    find: '(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;',
    replace: '(operationType & BIO_CB_RETURN) ? static_cast<long>(ret) : 1;',
  },
];

export function applyPatches(workerDir: string): void {
  for (const patch of PATCHES) {
    const file = path.join(workerDir, patch.file);
    const source = fs.readFileSync(file, 'utf8');
    const found =
      typeof patch.find === 'string' ? source.includes(patch.find) : new RegExp(patch.find).test(source);
    if (!found) {
      throw new Error(
        `worker patch no longer matches ${patch.file} (${patch.why}). ` +
          'The mediasoup version changed: update media/worker/build-worker.ts and bump PATCH_REVISION.',
      );
    }
    const patched =
      typeof patch.find === 'string'
        ? source.split(patch.find).join(patch.replace)
        : source.replace(patch.find, patch.replace);
    fs.writeFileSync(file, patched);
  }
}

function run(command: string, args: string[], cwd: string, log: (m: string) => void): void {
  log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${tail}`);
  }
}

/** Builds the worker from `sourceWorkerDir` (left untouched) and writes the stripped binary to `destination`. */
export function buildWorker(sourceWorkerDir: string, destination: string, log: (m: string) => void): void {
  ensureAptPackages(WORKER_BUILD_PACKAGES, 'building the mediasoup worker', log);
  const buildRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mediasoup-worker-build-'));
  try {
    buildIn(buildRoot, sourceWorkerDir, destination, log);
  } finally {
    fs.rmSync(buildRoot, { recursive: true, force: true });
  }
}

function buildIn(buildRoot: string, sourceWorkerDir: string, destination: string, log: (m: string) => void): void {
  const workerDir = path.join(buildRoot, 'worker');
  fs.cpSync(sourceWorkerDir, workerDir, { recursive: true });
  // Without subprojects meson can never reach for the network.
  fs.rmSync(path.join(workerDir, 'subprojects'), { recursive: true, force: true });
  fs.rmSync(path.join(workerDir, 'out'), { recursive: true, force: true });
  applyPatches(workerDir);

  const buildDir = path.join(buildRoot, 'build');
  log('building the mediasoup worker from source (about 3 minutes on 2 cores)');
  run(
    'meson',
    [
      'setup',
      buildDir,
      workerDir,
      '--buildtype',
      'release',
      '-Db_ndebug=true',
      '-Db_pie=true',
      '-Db_staticpic=true',
      '--wrap-mode=nofallback',
    ],
    buildRoot,
    log,
  );
  // ninja does not order the generated flatbuffers headers first.
  run('meson', ['compile', '-C', buildDir, 'flatbuffers-generator'], buildRoot, log);
  run('ninja', ['-C', buildDir, 'mediasoup-worker'], buildRoot, log);
  const bin = path.join(buildDir, 'mediasoup-worker');
  run('strip', ['--strip-unneeded', bin], buildRoot, log);
  const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
  if (ldd.stdout.includes('not found')) {
    throw new Error(`the built worker misses shared libraries:\n${ldd.stdout}`);
  }
  fs.mkdirSync(path.dirname(destination), { recursive: true });
  fs.copyFileSync(bin, destination);
  fs.chmodSync(destination, 0o755);
}
