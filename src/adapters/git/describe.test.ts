import { describe, expect, it } from 'vitest';
import { withoutCredentials } from './describe.js';

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
