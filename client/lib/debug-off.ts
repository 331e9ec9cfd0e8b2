// Stands in for the `debug` package in the client build (vite.config.ts). mediasoup-client logs
// through it, and at start-up `debug` reads localStorage to learn what to log: the first
// localStorage access of a page is a synchronous trip to the browser process, on the way to
// every participant's first picture (measured: the largest single piece of script time in an
// observer's join on a loaded machine). The studio never turns those logs on, so here every
// logger is off and nothing is read.
interface Debugger {
  (...args: unknown[]): void;
  enabled: boolean;
  namespace: string;
  log: (...args: unknown[]) => void;
  extend: (sub: string, delimiter?: string) => Debugger;
}

function debug(namespace: string): Debugger {
  const logger = (() => undefined) as unknown as Debugger;
  logger.enabled = false;
  logger.namespace = namespace;
  logger.log = () => undefined;
  logger.extend = (sub, delimiter = ':') => debug(`${namespace}${delimiter}${sub}`);
  return logger;
}
debug.enable = (_namespaces: string): void => undefined;
debug.disable = (): string => '';
debug.enabled = (_namespace: string): boolean => false;

export default debug;
