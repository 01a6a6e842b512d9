import { describe, expect, it } from 'vitest';
import { apiHost, formatReference, isLoopbackHost, parseReference } from '../../src/registry/reference.ts';

const SHA = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
    ['ubuntu:24.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '24.04' }],
    ['docker.io/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
    ['index.docker.io/team/app', { registry: 'docker.io', repository: 'team/app' }],
    ['team/app:v1', { registry: 'docker.io', repository: 'team/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/a/b/c:tag', { registry: 'localhost:5000', repository: 'a/b/c', tag: 'tag' }],
    ['127.0.0.1:5000/model', { registry: '127.0.0.1:5000', repository: 'model' }],
    ['[::1]:5000/model:v2', { registry: '[::1]:5000', repository: 'model', tag: 'v2' }],
    ['Registry/app', { registry: 'Registry', repository: 'app' }],
    [`quay.io/org/app@${SHA}`, { registry: 'quay.io', repository: 'org/app', digest: SHA }],
    [`quay.io/org/app:v1@${SHA}`, { registry: 'quay.io', repository: 'org/app', tag: 'v1', digest: SHA }],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/mistral-24b:v1',
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'team/mistral-24b', tag: 'v1' },
    ],
    ['docker://quay.io/a/b__c.d-e:x', { registry: 'quay.io', repository: 'a/b__c.d-e', tag: 'x' }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ['', /it is empty/],
    ['quay.io/Org/App', /repository names must be lowercase/],
    ['quay.io/org/app:', /tag "" is not valid/],
    ['quay.io/org/app:-bad', /tag "-bad" is not valid/],
    [`quay.io/org/app:${'x'.repeat(129)}`, /tag .* is not valid/],
    ['quay.io/org/app@sha256:abc', /not a digest/],
    [`quay.io/org/app@sha256:${'A'.repeat(64)}`, /64 lowercase hex/],
    ['quay.io/org//app', /repository "org\/\/app" is not valid/],
    ['quay.io/org/app-', /repository "org\/app-" is not valid/],
    ['-bad.io/app', /"-bad.io" is not a valid registry host/],
    [`quay.io/${'a'.repeat(250)}`, /longer than 255/],
  ])('rejects %j: %s', (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
  });

  it('names the reference in the error and gives a hint', () => {
    let error: unknown;
    try {
      parseReference('quay.io/Org/App');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      message: 'invalid image reference "quay.io/Org/App": repository names must be lowercase',
      hint: 'use "org/app"',
      exitCode: 2,
    });
  });
});

describe('helpers', () => {
  it.each([
    ['ubuntu', 'docker.io/library/ubuntu'],
    [`quay.io/org/app:v1@${SHA}`, `quay.io/org/app:v1@${SHA}`],
  ])('formatReference(parse(%s)) = %s', (input, output) => {
    expect(formatReference(parseReference(input))).toBe(output);
  });

  it('maps Docker Hub to its API host', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('quay.io')).toBe('quay.io');
  });

  it.each([
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['[::1]:5000', true],
    ['10.0.0.1:5000', false],
    ['127.0.0.1.nip.io', false],
    ['quay.io', false],
  ])('isLoopbackHost(%s) = %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
