import { randomUUID } from 'node:crypto';

/** An answer in one of AWS's wire protocols. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export class AwsError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** JSON 1.1 (ECR): `__type` names the modeled exception the SDK throws. */
export function jsonAnswer(body: unknown): Answer {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify(body),
  };
}

export function jsonError(error: AwsError): Answer {
  return {
    status: error.status,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
      // The header names the bare code; the body may carry a namespaced one (`com.amazon.coral.service#…`).
      'x-amzn-errortype': error.code.split('#').pop() ?? error.code,
    },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

/** Query protocol (STS, IAM): `<Action>Response><Action>Result>…` and `<ErrorResponse>`. */
export function xmlAnswer(action: string, namespace: string, result: string): Answer {
  const body = `<${action}Response xmlns="${namespace}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml' }, body };
}

export function xmlError(error: AwsError, namespace: string): Answer {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  const body = `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  return { status: error.status, headers: { 'content-type': 'text/xml' }, body };
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

/** `Name.member.1=a&Name.member.2=b` → ['a', 'b']. */
export function members(params: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${name}.member.${i}`); i++) out.push(params.get(`${name}.member.${i}`) ?? '');
  return out;
}
