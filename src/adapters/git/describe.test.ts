import { describe, expect, it } from 'vitest';
import { remoteUri, withoutCredentials } from './describe.js';

describe('withoutCredentials', () => {
  it('drops user and token from URLs, and turns scp-like remotes into ssh URIs', () => {
    expect(withoutCredentials('https://ci-bot:s3cret@git.example/acme/web.git')).toBe(
      'https://git.example/acme/web.git',
    );
    expect(withoutCredentials('https://token@git.example/a.git')).toBe('https://git.example/a.git');
    expect(withoutCredentials('https://git.example/a.git')).toBe('https://git.example/a.git');
    expect(withoutCredentials('git@github.com:acme/web.git')).toBe(
      'ssh://git@github.com/acme/web.git',
    );
    expect(withoutCredentials('ssh://git:pw@host/x.git')).toBe('ssh://git@host/x.git');
    expect(withoutCredentials('/srv/git/app.git')).toBe('/srv/git/app.git');
  });
});

describe('remoteUri', () => {
  it('names every origin with a URI: local folders as file:// URLs, relative ones from the work tree', () => {
    expect(remoteUri('/work/main', '/tmp/clone')).toBe('file:///work/main');
    expect(remoteUri('../up stream.git', '/tmp/clone')).toBe('file:///tmp/up%20stream.git');
    expect(remoteUri('file:///srv/app.git', '/x')).toBe('file:///srv/app.git');
    expect(remoteUri('https://t:s@git.example/a.git', '/x')).toBe('https://git.example/a.git');
    expect(remoteUri('git@github.com:acme/web.git', '/x')).toBe(
      'ssh://git@github.com/acme/web.git',
    );
  });
});
