import { strict as assert } from 'node:assert';
import { chooseModelPath, resolveModelDir } from '../../src/modelPathRule';

describe('model path and workspace trust', () => {
  const inspection = { defaultValue: '', globalValue: '/models/user', workspaceValue: './models/ws' };

  it('uses the workspace value only in a trusted workspace', () => {
    assert.deepEqual(chooseModelPath(inspection, true), { value: './models/ws', source: 'workspace' });
    assert.deepEqual(chooseModelPath(inspection, false), { value: '/models/user', source: 'user', ignoredWorkspaceValue: './models/ws' });
  });

  it('falls back to the embedded model (default) when the user set nothing, and reports the ignored value', () => {
    assert.deepEqual(chooseModelPath({ defaultValue: '', workspaceFolderValue: '/evil' }, false), {
      value: '',
      source: 'default',
      ignoredWorkspaceValue: '/evil',
    });
    assert.deepEqual(chooseModelPath({ defaultValue: '' }, false), { value: '', source: 'default' });
    // An empty workspace value is not a value.
    assert.deepEqual(chooseModelPath({ defaultValue: '', workspaceValue: '  ' }, false), { value: '', source: 'default' });
  });

  it('resolves empty, home, absolute and workspace-relative paths', () => {
    const context = { embeddedModelDir: '/ext/models/caspo-arith-sft', workspaceRoot: '/ws', homeDir: '/home/me' };
    assert.equal(resolveModelDir('', context), '/ext/models/caspo-arith-sft');
    assert.equal(resolveModelDir('~/m', context), '/home/me/m');
    assert.equal(resolveModelDir('/abs/m/', context), '/abs/m');
    assert.equal(resolveModelDir('models/m', context), '/ws/models/m');
    assert.throws(() => resolveModelDir('models/m', { ...context, workspaceRoot: undefined }), /relative, but no folder is open/);
  });

  it('refuses a relative path in an untrusted workspace, even the user\'s own: it would load a model from the untrusted folder', () => {
    const context = { embeddedModelDir: '/ext/models/caspo-arith', workspaceRoot: '/untrusted-repo', homeDir: '/home/me', trusted: false };
    const user = chooseModelPath({ defaultValue: '', globalValue: 'models/caspo' }, false);
    assert.equal(user.source, 'user');
    assert.throws(() => resolveModelDir(user.value, context), /"models\/caspo" is relative, and this workspace is not trusted: .*Use an absolute path, or trust the workspace/);
    assert.equal(resolveModelDir('/abs/m', context), '/abs/m');
    assert.equal(resolveModelDir('~/m', context), '/home/me/m');
    assert.equal(resolveModelDir('', context), '/ext/models/caspo-arith');
  });
});
