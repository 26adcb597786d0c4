// Entry point: page switching by URL hash (#chat, #models, #server) and start-up.
import { initChat, loadModels } from './chat.js';
import { initModels, showModels } from './models.js';
import { hideServer, showServer } from './server.js';
import { $, banner } from './util.js';

const PAGES = ['chat', 'models', 'server'];

function route() {
  const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'chat';
  for (const p of PAGES) $(`#page-${p}`).hidden = p !== page;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === page);
  $('#menu-btn').hidden = page !== 'chat';
  document.body.dataset.page = page;
  if (page === 'models') showModels();
  if (page === 'server') showServer(); else hideServer();
  if (page === 'chat') loadModels();
}

window.addEventListener('hashchange', route);
window.addEventListener('hearth:auth', () => { banner(''); route(); });
initChat();
initModels();
route();
document.body.dataset.ready = '1';
