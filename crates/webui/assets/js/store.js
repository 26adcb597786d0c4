// Conversations and chat settings in localStorage (this browser only; nothing leaves it).

const CONVS = 'hearth.conversations';
const CURRENT = 'hearth.current';
const SETTINGS = 'hearth.settings';

function read(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}

export const loadConversations = () => read(CONVS, []);
export function saveConversations(list) {
  try { localStorage.setItem(CONVS, JSON.stringify(list)); } catch (e) { console.warn('localStorage full', e); }
}
export const currentId = () => localStorage.getItem(CURRENT);
export const setCurrentId = (id) => (id ? localStorage.setItem(CURRENT, id) : localStorage.removeItem(CURRENT));
export const loadSettings = () => read(SETTINGS, {});
export const saveSettings = (s) => localStorage.setItem(SETTINGS, JSON.stringify(s));

export function newConversation(model) {
  const now = Date.now();
  return { id: `c${now.toString(36)}${Math.random().toString(36).slice(2, 7)}`, title: 'New chat', model, created: now, updated: now, messages: [] };
}
