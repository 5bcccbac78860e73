// The schedule list: how long until each sale opens.
import { countdown, duration, t } from './lib.js';

for (const node of document.querySelectorAll('.countdown[data-opens-at]')) {
  const opens = new Date(node.dataset.opensAt);
  countdown(
    opens,
    (left) => {
      node.textContent = t('sale_opens_in', { time: duration(left) });
    },
    () => {
      node.textContent = t('sale_open');
    },
  );
}
