// jStat ships no types; server/analytics/distributions.ts types the parts the analyses use.
declare module 'jstat' {
  const jStatModule: unknown;
  export default jStatModule;
}
