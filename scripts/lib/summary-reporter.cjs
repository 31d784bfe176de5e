// Mocha reporter: the usual spec output, plus a JSON summary file the test runner reads.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const file = options.reporterOption && options.reporterOption.summary;
    const failedTitles = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test, err) => {
      failedTitles.push(`${test.fullTitle()}: ${err && err.message ? err.message.split('\n')[0] : err}`);
    });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      if (file) {
        fs.writeFileSync(file, JSON.stringify({ passes: s.passes, failures: s.failures, pending: s.pending, failedTitles }));
      }
    });
  }
}

module.exports = SummaryReporter;
