// The release marker, in a module of its own so the bundle has something to
// bundle: change it and redeploy to publish a new function version.
export const RELEASE: string = 'ts-r1';

export function greeting(uri: string): string {
  return `Bundled TypeScript at the edge (${RELEASE}) for ${uri}`;
}
