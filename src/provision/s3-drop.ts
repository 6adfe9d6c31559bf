/**
 * The S3 side of a drop: `s3://bucket/prefix` holds `prefix/WORKLOAD/role-id`
 * and `secret-id` or `wrapped-secret-id`. The client takes the AWS SDK's own
 * settings (AWS_REGION, credentials, AWS_ENDPOINT_URL_S3) plus
 * KEEP_S3_FORCE_PATH_STYLE=true, as DESIGN.md says. Objects are written
 * without any ACL, so they stay private to the bucket owner (the narrowest S3
 * offers; the workload's read access is the bucket policy's business), with
 * server-side encryption asked for. The SDK is loaded only when an s3:// drop is used.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { LocalError } from '../cli/errors.ts';

type Env = Readonly<Record<string, string | undefined>>;

let sdk: typeof import('@aws-sdk/client-s3') | undefined;

async function client(
  env: Env,
): Promise<{ s3: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  sdk ??= await import('@aws-sdk/client-s3');
  const s3 = new sdk.S3Client({
    forcePathStyle: ['1', 'true', 'TRUE', 'True'].includes(env.KEEP_S3_FORCE_PATH_STYLE ?? ''),
    // Third-party stores mangle the SDK's default streaming checksums (LIBRARIES.md §18).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { s3, sdk };
}

const keyOf = (prefix: string, ...parts: string[]) => [prefix, ...parts].filter(Boolean).join('/');

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; Code?: string };
  return `${e.name ?? e.Code ?? 'Error'}: ${e.message ?? String(err)}`;
}

/** Writes `files` under `prefix/workload/`, then removes `stale` names. */
export async function s3Write(
  env: Env,
  bucket: string,
  prefix: string,
  workload: string,
  files: Record<string, string>,
  stale: string[],
): Promise<string> {
  const { s3, sdk: aws } = await client(env);
  try {
    for (const [name, body] of Object.entries(files)) {
      await s3.send(
        new aws.PutObjectCommand({
          Bucket: bucket,
          Key: keyOf(prefix, workload, name),
          Body: body,
          ContentType: 'text/plain',
          ServerSideEncryption: env.KEEP_S3_SSE === 'none' ? undefined : 'AES256',
        }),
      );
    }
    for (const name of stale) {
      await s3.send(
        new aws.DeleteObjectCommand({ Bucket: bucket, Key: keyOf(prefix, workload, name) }),
      );
    }
  } catch (err) {
    throw new LocalError(
      `cannot write the drop to s3://${bucket}/${keyOf(prefix, workload)}/: ${describe(err)}`,
    );
  } finally {
    s3.destroy();
  }
  return `s3://${bucket}/${keyOf(prefix, workload)}/`;
}

/** Deletes every object under `prefix/workload/`. */
export async function s3Remove(
  env: Env,
  bucket: string,
  prefix: string,
  workload: string,
): Promise<void> {
  const { s3, sdk: aws } = await client(env);
  const folder = `${keyOf(prefix, workload)}/`;
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new aws.ListObjectsV2Command({ Bucket: bucket, Prefix: folder, ContinuationToken: token }),
      );
      for (const obj of page.Contents ?? []) {
        if (obj.Key) await s3.send(new aws.DeleteObjectCommand({ Bucket: bucket, Key: obj.Key }));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw new LocalError(`cannot remove the drop s3://${bucket}/${folder}: ${describe(err)}`);
  } finally {
    s3.destroy();
  }
}

/** Reads the named objects under `key/` (a workload's folder); absent ones map to undefined. */
export async function s3Read(
  env: Env,
  bucket: string,
  key: string,
  names: string[],
): Promise<Record<string, string | undefined>> {
  const { s3, sdk: aws } = await client(env);
  const out: Record<string, string | undefined> = {};
  try {
    for (const name of names) {
      try {
        const res = await s3.send(
          new aws.GetObjectCommand({ Bucket: bucket, Key: keyOf(key, name) }),
        );
        out[name] = (await res.Body?.transformToString('utf8'))?.trim();
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) out[name] = undefined;
        else throw err;
      }
    }
  } catch (err) {
    throw new LocalError(`cannot read the drop s3://${bucket}/${key}/: ${describe(err)}`);
  } finally {
    s3.destroy();
  }
  return out;
}
