// Reads a JSON array of texts on stdin; prints, for each, what twitter-text 3.1.0 says:
// {weightedLength, valid, urls: [[start, end], ...]} with UTF-16 indices.
const twttr = require('twitter-text');
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const texts = JSON.parse(input);
  const out = texts.map((text) => {
    const r = twttr.parseTweet(text);
    const urls = twttr.extractUrlsWithIndices(text.normalize()).map((u) => u.indices);
    return { weightedLength: r.weightedLength, valid: r.valid, urls };
  });
  process.stdout.write(JSON.stringify(out));
});
