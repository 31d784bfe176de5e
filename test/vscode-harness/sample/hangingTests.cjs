// An extensionTestsPath whose run() never settles: harness.test.ts uses it to prove that a
// session without codeAutomationExit ends in the harness's timeout error, not a hang.
'use strict';

function run() {
  console.log('hanging test module started: run() never settles');
  return new Promise(() => {});
}

module.exports = { run };
