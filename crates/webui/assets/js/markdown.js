// A small Markdown renderer that builds DOM nodes only: every character of model output ends up
// in a text node (textContent), never parsed as HTML, so `<script>` or `<img onerror>` shows as
// text. Handles fenced code, headings, lists, quotes, rules, paragraphs, and inline code, bold,
// italics and http(s) links. An unclosed fence (a streaming answer) renders as code so far.
import { el } from './util.js';

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;

/** Render `text` into a DocumentFragment. */
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  blocks(String(text ?? '').replace(/\r\n?/g, '\n').split('\n'), frag);
  return frag;
}

function blocks(lines, parent) {
  let i = 0;
  let para = [];
  const flush = () => {
    if (para.length) parent.append(inline(el('p'), para.join('\n')));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if ((m = FENCE.exec(line))) {
      flush();
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++;
      parent.append(codeBlock(body.join('\n'), m[2]));
      continue;
    }
    if (!line.trim()) { flush(); i++; continue; }
    if ((m = HEADING.exec(line))) {
      flush();
      parent.append(inline(el(`h${Math.min(6, m[1].length + 2)}`), m[2]));
      i++;
      continue;
    }
    if (RULE.test(line)) { flush(); parent.append(el('hr')); i++; continue; }
    if (QUOTE.test(line)) {
      flush();
      const inner = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) { inner.push(m[1]); i++; }
      const q = el('blockquote');
      blocks(inner, q);
      parent.append(q);
      continue;
    }
    if ((m = ITEM.exec(line)) && (para.length === 0 || !/^\d/.test(m[2]) || m[2].startsWith('1'))) {
      flush();
      const ordered = /^\d/.test(m[2]);
      const list = el(ordered ? 'ol' : 'ul');
      if (ordered && parseInt(m[2], 10) !== 1) list.setAttribute('start', String(parseInt(m[2], 10)));
      const indent = m[1].length;
      let item = null;
      while (i < lines.length) {
        const l = lines[i];
        const im = ITEM.exec(l);
        if (im && im[1].length <= indent + 1 && /^\d/.test(im[2]) === ordered) {
          item = [im[3]];
          list.append(el('li'));
          list.lastChild.lines = item;
          i++;
        } else if (item && l.trim() && (/^\s/.test(l) || !ITEM.test(l)) && !FENCE.test(l) && !HEADING.test(l)) {
          item.push(l.trim());
          i++;
        } else break;
      }
      for (const li of list.children) inline(li, li.lines.join('\n'));
      parent.append(list);
      continue;
    }
    para.push(line);
    i++;
  }
  flush();
}

function codeBlock(code, lang) {
  const pre = el('pre');
  if (lang) pre.append(el('span', { class: 'lang', text: lang }));
  pre.append(el('code', { class: lang ? `language-${lang.replace(/[^\w-]/g, '')}` : undefined, text: code }));
  return pre;
}

// Inline spans, earliest match first: `code`, **bold**, *italic* / _italic_, [text](url), bare URLs.
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|\*(?=[^\s*])([^*]*?[^\s*])\*|(?<![\w])_(?=\S)([^_]*?\S)_(?![\w])|\[([^\]\n]+)\]\(([^)\s]+)\)|\b(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;

function inline(parent, text) {
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) { addText(parent, rest); break; }
    addText(parent, rest.slice(0, m.index));
    if (m[1]) parent.append(el('code', { text: m[2].replace(/^ (.*) $/, '$1') }));
    else if (m[3] || m[4]) parent.append(inline(el('strong'), m[3] || m[4]));
    else if (m[5] || m[6]) parent.append(inline(el('em'), m[5] || m[6]));
    else if (m[7]) parent.append(link(m[8], m[7]));
    else parent.append(link(m[9], m[9]));
    rest = rest.slice(m.index + m[0].length);
  }
  return parent;
}

function addText(parent, text) {
  const parts = text.split('\n');
  parts.forEach((p, i) => {
    if (i) parent.append(el('br'));
    if (p) parent.append(document.createTextNode(p));
  });
}

// Only http(s) and mailto links become anchors; anything else (javascript:, data:) stays text.
function link(href, label) {
  if (!/^(https?:|mailto:)/i.test(href)) return document.createTextNode(label === href ? href : `[${label}](${href})`);
  const a = el('a', { href, target: '_blank', rel: 'noopener noreferrer' });
  inline(a, label);
  return a;
}
