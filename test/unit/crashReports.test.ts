import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { ErrorCodes, ResponseError } from 'vscode-languageserver';
import { guarded, reportUnhandledErrors } from '../../language-server/src/host/crashReports';

describe('server error reporting', () => {
  it('turns a bug in a handler into an InternalError for the client and logs its stack', async () => {
    const logged: string[] = [];
    const handler = guarded('caspo/solve', { log: (t) => logged.push(t) }, () => {
      throw new TypeError('x is undefined');
    });
    await assert.rejects(handler(undefined, undefined), (error: ResponseError<unknown>) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, ErrorCodes.InternalError);
      assert.equal(error.message, 'CASPO caspo/solve failed: x is undefined. The CASPO log has the details.');
      return true;
    });
    assert.equal(logged.length, 1);
    assert.match(logged[0], /^caspo\/solve failed: TypeError: x is undefined\n\s+at /);
  });

  it('passes errors meant for the user through unchanged', async () => {
    const meant = new ResponseError(-32803, 'bad model path');
    const handler = guarded('caspo/solve', { log: () => assert.fail('not a bug') }, async () => {
      throw meant;
    });
    await assert.rejects(handler(undefined, undefined), (error) => error === meant);
    assert.equal(await guarded('x', { log: () => undefined }, (n: number) => n + 1)(1, undefined), 2);
  });

  it('reports unhandled rejections and uncaught exceptions to the client and keeps running', () => {
    const log: string[] = [];
    const shown: string[] = [];
    const events = new EventEmitter();
    const reporting = reportUnhandledErrors({ log: (t) => log.push(t), show: (m) => shown.push(m) }, events);
    events.emit('unhandledRejection', new Error('lost promise'));
    events.emit('uncaughtException', new RangeError('bad index'));
    reporting.dispose();
    assert.equal(events.listenerCount('uncaughtException') + events.listenerCount('unhandledRejection'), 0);
    assert.match(log[0], /^CASPO language server: unhandled promise rejection: Error: lost promise\n/);
    assert.match(log[1], /^CASPO language server: uncaught exception: RangeError: bad index\n/);
    assert.deepEqual(shown, [
      'CASPO language server: internal error (lost promise). It is still running; the CASPO log has the details.',
      'CASPO language server: internal error (bad index). It is still running; the CASPO log has the details.',
    ]);
  });
});
