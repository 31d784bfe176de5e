import { strict as assert } from 'node:assert';
import { stagedReadme } from '../../scripts/package-vsix.mjs';

describe('the packaged README (scripts/package-vsix.mjs)', () => {
  it('turns every image with a relative path into its caption, and refuses an HTML one', () => {
    const text = [
      '![A solved problem.](docs/images/a.png)',
      'inline ![b](docs/b.png "title") and [![c](c.png)](https://x)',
      '![remote](https://example.com/d.png)',
    ].join('\n');
    assert.equal(
      stagedReadme(text),
      [
        '*(Screenshot in the source repository, docs/images/a.png: A solved problem.)*',
        'inline *(Screenshot in the source repository, docs/b.png: b.)* and [*(Screenshot in the source repository, c.png: c.)*](https://x)',
        '![remote](https://example.com/d.png)',
      ].join('\n'),
    );
    assert.throws(() => stagedReadme('<img src="docs/e.png">'), /README\.md shows an image by a relative path \(<img src="docs\/e\.png"/);
  });
});
