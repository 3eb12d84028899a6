// The time slider: the end of the time window and its length, with
// play/pause. Its value becomes the tiles' datetime parameter.

import { WINDOWS } from './hashstate.js';

const DAY = 86400000;
const HOUR = 3600000;

export class Timebar {
  constructor(cfg, initial) {
    this.start = Date.parse(cfg.time[0]);
    this.end = Math.max(Date.parse(cfg.time[1]), this.start + DAY);
    this.slider = document.getElementById('time');
    this.select = document.getElementById('window');
    this.label = document.getElementById('timelabel');
    this.playButton = document.getElementById('play');
    this.onChange = () => {};
    this.timer = null;
    this.pending = null;
    // One slider step per hour of the data's time range.
    this.steps = Math.max(1, Math.min(200000, Math.round((this.end - this.start) / HOUR)));
    this.slider.max = String(this.steps);
    this.select.value = initial.win || 'all';
    // A link's end time is kept exactly until the slider moves.
    this.exact = initial.end ? Date.parse(initial.end) : null;
    this.slider.value = String(initial.end ? this.toStep(this.exact) : this.steps);
    this.slider.addEventListener('input', () => { this.exact = null; this.stop(); this.changed(); });
    this.select.addEventListener('change', () => this.changed(true));
    this.playButton.addEventListener('click', () => (this.timer ? this.stop() : this.play()));
    this.render();
  }

  toStep(t) {
    const f = (t - this.start) / (this.end - this.start);
    return Math.round(Math.min(1, Math.max(0, f)) * this.steps);
  }

  endTime() {
    if (this.exact !== null) return this.exact;
    return this.start + (Number(this.slider.value) / this.steps) * (this.end - this.start);
  }

  atLatest() { return this.exact === null && Number(this.slider.value) >= this.steps; }

  windowDays() { return WINDOWS[this.select.value] || 0; }

  // datetime is the tiles' datetime parameter, "" for no time filter (all
  // time up to the latest report).
  datetime() {
    const days = this.windowDays();
    if (!days && this.atLatest()) return '';
    const end = iso(this.endTime());
    if (!days) return '../' + end;
    return iso(this.endTime() - days * DAY) + '/' + end;
  }

  // range is the window as [from, to] ISO times, for the zone figures.
  range() {
    const end = this.endTime();
    const days = this.windowDays();
    return [iso(days ? end - days * DAY : this.start), iso(end)];
  }

  endParam() { return this.atLatest() ? null : iso(this.endTime()); }
  windowParam() { return this.select.value === 'all' ? null : this.select.value; }

  // setEnd moves the slider to time t (a test hook and for the hash).
  setEnd(t) {
    this.exact = t;
    this.slider.value = String(this.toStep(t));
    this.changed(true);
  }

  changed(now) {
    this.render();
    clearTimeout(this.pending);
    // Dragging fires many input events: ask for tiles once it settles.
    this.pending = setTimeout(() => this.onChange(), now ? 0 : 150);
  }

  play() {
    this.exact = null;
    if (this.atLatest()) {
      const days = this.windowDays() || 30;
      this.slider.value = String(this.toStep(this.start + days * DAY));
    }
    this.playButton.textContent = '❚❚';
    this.playButton.setAttribute('aria-label', 'Pause');
    this.playButton.classList.add('playing');
    // Each tick moves by a quarter of the window, so that playing shows
    // change without skipping reports; with no window, by 1/60 of the range.
    const days = this.windowDays();
    const perStep = (this.end - this.start) / this.steps;
    const step = Math.max(1, Math.round(days ? (days * DAY) / 4 / perStep : this.steps / 60));
    const tick = () => {
      const next = Math.min(this.steps, Number(this.slider.value) + step);
      this.slider.value = String(next);
      this.changed(true);
      if (next >= this.steps) this.stop();
    };
    tick();
    this.timer = setInterval(tick, 900);
  }

  stop() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.playButton.textContent = '▶';
    this.playButton.setAttribute('aria-label', 'Play');
    this.playButton.classList.remove('playing');
  }

  render() {
    const days = this.windowDays();
    const end = this.atLatest() ? 'latest' : day(this.endTime());
    this.label.textContent = days ? `${day(this.endTime() - days * DAY)} – ${end}` : `all until ${end}`;
  }
}

function iso(t) { return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'); }
function day(t) { return new Date(t).toISOString().slice(0, 10); }
