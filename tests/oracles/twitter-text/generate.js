// Generates plugins/text/src/twitter_text/tables.rs from the data X's own libraries carry:
// the top-level domains of twitter-text 3.1.0 and the emoji pattern of twemoji-parser
// 11.0.2, the version twitter-text 3.1.0 depends on. Run after `npm ci` here:
//   node tests/oracles/twitter-text/generate.js > plugins/text/src/twitter_text/tables.rs
// (tests/tests/twitter_text.rs checks the committed file is exactly this output).
const { regexen } = require('twitter-text');
const gtld = regexen.validGTLD;
const cctld = regexen.validCCTLD;
const emoji = require('twemoji-parser/dist/lib/regex').default;

function tlds(re) {
  const m = re.source.match(/^\(\?:\(\?:(.*)\)\(\?=\[\^0-9a-zA-Z@\+-\]\|\$\)\)$/);
  if (!m) throw new Error('unexpected TLD pattern: ' + re.source.slice(0, 80));
  return m[1].split('|');
}

// The JS pattern matches UTF-16 code units; Rust's regex matches code points. Surrogate
// pairs (a high surrogate followed by a low one, or by a class of low ones) become code
// points; every other \uXXXX becomes \x{XXXX}. `(?:\ufe0f|(?!\ufe0e))` (a text-default
// emoji, unless text presentation is asked for) has no lookahead in Rust: it becomes
// `\x{FE0F}?`, and the code points it follows are listed so that the matcher can refuse a
// match followed by U+FE0E, as the lookahead does.
function toRust(src) {
  const cp = (hi, lo) => 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
  const hex = (n) => '\\x{' + n.toString(16).toUpperCase() + '}';
  let out = '';
  let i = 0;
  const unitIn = (s, at) => (s.startsWith('\\u', at) ? parseInt(s.slice(at + 2, at + 6), 16) : null);
  const unit = (at) => unitIn(src, at);
  while (i < src.length) {
    const u = unit(i);
    if (u !== null && u >= 0xd800 && u <= 0xdbff) {
      const next = unit(i + 6);
      if (next !== null && next >= 0xdc00 && next <= 0xdfff) {
        out += hex(cp(u, next));
        i += 12;
        continue;
      }
      if (src[i + 6] === '[') {
        const end = src.indexOf(']', i + 7);
        const body = src.slice(i + 7, end);
        let cls = '';
        let j = 0;
        while (j < body.length) {
          const lo = unitIn(body, j);
          if (lo === null) throw new Error('unexpected class ' + body);
          j += 6;
          if (body[j] === '-') {
            const lo2 = unitIn(body, j + 1);
            cls += hex(cp(u, lo)) + '-' + hex(cp(u, lo2));
            j += 7;
          } else {
            cls += hex(cp(u, lo));
          }
        }
        out += '[' + cls + ']';
        i = end + 1;
        continue;
      }
      throw new Error('lone high surrogate at ' + i);
    }
    if (u !== null) {
      out += hex(u);
      i += 6;
      continue;
    }
    out += src[i];
    i += 1;
  }
  return out;
}

// The groups directly before each `(?:\ufe0f|(?!\ufe0e))`.
function textDefault(src) {
  const look = '(?:\\ufe0f|(?!\\ufe0e))';
  const groups = [];
  let at = src.indexOf(look);
  while (at >= 0) {
    let depth = 0;
    let k = at - 1;
    for (; k >= 0; k--) {
      if (src[k] === ')' && src[k - 1] !== '\\') depth++;
      if (src[k] === '(' && src[k - 1] !== '\\') depth--;
      if (depth === 0) break;
    }
    groups.push(toRust(src.slice(k, at)));
    at = src.indexOf(look, at + look.length);
  }
  return groups;
}

// Every string the (finite) pattern matches: it has no `*` or `+`, only alternatives,
// classes and `?`. Written out, the matcher is a sorted list instead of a regex, which a
// plugin would otherwise compile on every call.
function expand(pattern) {
  let i = 0;
  const peek = () => pattern[i];
  const codepoint = () => {
    if (pattern.startsWith('\\x{', i)) {
      const end = pattern.indexOf('}', i);
      const cp = parseInt(pattern.slice(i + 3, end), 16);
      i = end + 1;
      return cp;
    }
    const cp = pattern.codePointAt(i);
    i += cp > 0xffff ? 2 : 1;
    return cp;
  };
  function alt() {
    const out = new Set(seq());
    while (peek() === '|') {
      i++;
      for (const s of seq()) out.add(s);
    }
    return [...out];
  }
  function seq() {
    let acc = [''];
    while (i < pattern.length && peek() !== '|' && peek() !== ')') {
      let set = atom();
      if (peek() === '?') {
        i++;
        set = ['', ...set];
      }
      const next = [];
      for (const a of acc) for (const b of set) next.push(a + b);
      acc = next;
    }
    return acc;
  }
  function atom() {
    if (peek() === '(') {
      i += pattern.startsWith('(?:', i) ? 3 : 1;
      const inner = alt();
      if (peek() !== ')') throw new Error('unbalanced at ' + i);
      i++;
      return inner;
    }
    if (peek() === '[') {
      i++;
      const out = [];
      while (peek() !== ']') {
        const lo = codepoint();
        if (peek() === '-' && pattern[i + 1] !== ']') {
          i++;
          const hi = codepoint();
          for (let c = lo; c <= hi; c++) out.push(String.fromCodePoint(c));
        } else {
          out.push(String.fromCodePoint(lo));
        }
      }
      i++;
      return out;
    }
    return [String.fromCodePoint(codepoint())];
  }
  const all = alt();
  if (i !== pattern.length) throw new Error('unparsed at ' + i);
  return all;
}

const src = emoji.source;
const look = '(?:\\ufe0f|(?!\\ufe0e))';
const pattern = toRust(src.split(look).join('(?:\\ufe0f)?'));
// Rust's sort order for &str is by UTF-8 bytes, which is code point order.
const byCodePoints = (a, b) => {
  const x = [...a].map((c) => c.codePointAt(0));
  const y = [...b].map((c) => c.codePointAt(0));
  for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k] - y[k];
  return x.length - y.length;
};
const sequences = expand(pattern).filter((s) => s.length > 0).sort(byCodePoints);
const textDefaultSet = [...new Set(textDefault(src).flatMap((g) => expand(g)))].sort(byCodePoints);
const rust = (s) => JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => c).replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]|[\ud800-\udbff][\udc00-\udfff]/g, (c) => '\\u{' + c.codePointAt(0).toString(16) + '}');
const list = (xs) => xs.map((x) => '    ' + rust(x) + ',').join('\n');
process.stdout.write(`//! Generated by tests/oracles/twitter-text/generate.js from twitter-text 3.1.0
//! (Apache-2.0, Twitter Inc.) and twemoji-parser 11.0.2 (MIT, Twitter Inc.): the data X's
//! own counting library uses. Do not edit; regenerate.

/// The ASCII top-level domains (generic and country codes), sorted. Only one can match at
/// a position: a TLD must not be followed by a letter or digit.
pub const ASCII_TLDS: &[&str] = &[
${list([...tlds(gtld), ...tlds(cctld)].filter((t) => /^[a-z0-9]+$/.test(t)).sort())}
];

/// The other top-level domains, in twitter-text's order (the first that matches wins).
pub const IDN_TLDS: &[&str] = &[
${list([...tlds(gtld), ...tlds(cctld)].filter((t) => !/^[a-z0-9]+$/.test(t)))}
];

/// Every emoji twemoji-parser 11.0.2 matches, sorted by code points.
pub const EMOJI: &[&str] = &[
${list(sequences)}
];

/// The emoji it takes without U+FE0F only when U+FE0E does not follow, sorted.
pub const TEXT_DEFAULT_EMOJI: &[&str] = &[
${list(textDefaultSet)}
];
`);
