// Origin-request trigger written in TypeScript: esbuild bundles this file and
// ./release.ts into dist/index.js, which is what the template deploys.
import { RELEASE, greeting } from './release';

interface CloudFrontHeader {
  key: string;
  value: string;
}

interface CloudFrontRequest {
  uri: string;
  method: string;
  headers: Record<string, CloudFrontHeader[]>;
}

interface OriginRequestEvent {
  Records: { cf: { request: CloudFrontRequest } }[];
}

interface LambdaContext {
  functionVersion?: string;
}

interface CloudFrontResult {
  status: string;
  statusDescription: string;
  headers: Record<string, CloudFrontHeader[]>;
  body: string;
}

export const handler = async (
  event: OriginRequestEvent,
  context: LambdaContext,
): Promise<CloudFrontResult> => {
  const request = event.Records[0].cf.request;
  return {
    status: '200',
    statusDescription: 'OK',
    headers: {
      'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
      'cache-control': [{ key: 'Cache-Control', value: 'max-age=300' }],
      'x-edgeship-release': [{ key: 'X-Edgeship-Release', value: RELEASE }],
      'x-edgeship-version': [
        { key: 'X-Edgeship-Version', value: String(context.functionVersion) },
      ],
    },
    body: greeting(request.uri),
  };
};
