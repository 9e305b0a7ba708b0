// openhoi viewer: plays one run (or two in sync) from the scenes embedded in this page.
// World frame: metres, z up. Arrays arrive as zlib + base64 (see openhoi/viewer/page.py).
const errorBox = document.getElementById('error');
function fail(error) {
  errorBox.hidden = false;
  errorBox.textContent = 'viewer error: ' + ((error && error.stack) || error);
  document.body.dataset.error = String(error);
}
window.addEventListener('error', (event) => fail(event.error || event.message));
window.addEventListener('unhandledrejection', (event) => fail(event.reason));

const threeSource = document.getElementById('three-src').textContent;
const THREE = await import(URL.createObjectURL(new Blob([threeSource], { type: 'text/javascript' })));
const SCENES = JSON.parse(document.getElementById('scenes').textContent);

const TYPES = { uint8: Uint8Array, int8: Int8Array, int16: Int16Array, uint16: Uint16Array,
  uint32: Uint32Array, float32: Float32Array };
const SKIN = [[0.93, 0.71, 0.60], [0.84, 0.58, 0.48]];
const CONTACT_RGB = [0.18, 0.70, 0.43];
const PENETRATION_RGB = [0.88, 0.14, 0.11];
const PENETRATION_FULL_M = 0.005;  // full red at 5 mm inside the object

async function unpack(packed) {
  if (!packed) return null;
  const text = atob(packed.data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  let array = new TYPES[packed.dtype](await new Response(stream).arrayBuffer());
  if (packed.delta) {  // int16 steps, differenced over frames -> float32 positions
    const frames = packed.shape[0], stride = array.length / frames;
    const sum = new Int16Array(stride), out = new Float32Array(array.length);
    for (let t = 0; t < frames; t++) {
      const base = t * stride;
      for (let i = 0; i < stride; i++) {
        sum[i] += array[base + i];  // wraps like the writer's int16 differences
        out[base + i] = (sum[i] + 32500) * packed.step + packed.offset[i % 3];
      }
    }
    array = out;
  }
  return array;
}

// ---------------------------------------------------------------- one pane per run
class Pane {
  constructor(data, container) {
    this.data = data;
    this.numFrames = data.numFrames;
    this.frame = -1;
    this.canvas = document.createElement('canvas');
    container.appendChild(this.canvas);
    const label = document.createElement('div');
    label.className = 'label';
    label.textContent = data.name;
    container.appendChild(label);
    this.caption = document.createElement('div');
    this.caption.className = 'caption';
    container.appendChild(this.caption);
    this.container = container;
    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: true,
      preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(window.devicePixelRatio || 1);
    this.renderer.shadowMap.enabled = true;
    this.renderer.shadowMap.type = THREE.PCFSoftShadowMap;
    this.camera = new THREE.PerspectiveCamera(35, 1, 0.01, 50);
    this.camera.up.set(0, 0, 1);
  }

  async build() {
    const d = this.data;
    const [handFaces, handVertices, active, transforms, points, pointParts, masks, contact] =
      await Promise.all([d.hands.faces, d.hands.vertices, d.hands.active, d.partTransforms,
        d.points, d.pointParts, d.masks, d.contact].map(unpack));
    const parts = await Promise.all(d.parts.map(async (p) =>
      [await unpack(p.vertices), await unpack(p.faces)]));
    const statics = await Promise.all((d.statics || []).map(async (p) =>
      [await unpack(p.vertices), await unpack(p.faces)]));
    Object.assign(this, { handVertices, active, transforms, masks, contact });
    this.numVertices = d.hands.vertices.shape[2];
    const scene = this.scene = new THREE.Scene();
    scene.background = new THREE.Color(0xeceef2);
    const [low, high] = d.bounds;
    // The camera looks at the action (median framing over frames); the light and table
    // cover every frame's bounds.
    this.center = new THREE.Vector3(...d.focus.center);
    this.size = 2 * d.focus.radius;
    const extentAll = Math.max(high[0] - low[0], high[1] - low[1], high[2] - low[2], 0.2);
    scene.add(new THREE.HemisphereLight(0xffffff, 0x8d8a85, 1.8));
    scene.add(new THREE.AmbientLight(0xffffff, 0.6));
    const sun = new THREE.DirectionalLight(0xffffff, 2.2);
    sun.position.copy(this.center).add(new THREE.Vector3(0.4, -0.6, 1.6).multiplyScalar(extentAll));
    sun.target.position.copy(this.center);
    sun.castShadow = true;
    sun.shadow.mapSize.set(2048, 2048);
    sun.shadow.radius = 4;
    const extent = extentAll * 1.2;
    Object.assign(sun.shadow.camera, { left: -extent, right: extent, top: extent,
      bottom: -extent, near: 0.01, far: extentAll * 6 });
    scene.add(sun, sun.target);
    // The table: z = 0, a soft-shadowed plane with a faint grid.
    const table = new THREE.Mesh(new THREE.PlaneGeometry(extentAll * 8, extentAll * 8),
      new THREE.MeshStandardMaterial({ color: 0xd9d4cc, roughness: 0.95 }));
    table.position.set(this.center.x, this.center.y, 0);
    table.receiveShadow = true;
    const grid = new THREE.GridHelper(extentAll * 8, Math.round(extentAll * 80), 0xb9b3aa, 0xc9c4bb);
    grid.rotation.x = Math.PI / 2;
    grid.position.set(this.center.x, this.center.y, 0.0005);
    this.table = new THREE.Group();
    this.table.add(table, grid);
    scene.add(this.table);
    // Hands: positions and colours rewritten every frame.
    this.hands = [0, 1].map((side) => {
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array(this.numVertices * 3), 3));
      geometry.setAttribute('color', new THREE.BufferAttribute(new Float32Array(this.numVertices * 3), 3));
      geometry.setIndex(new THREE.BufferAttribute(handFaces.length > 65535 ? handFaces : new Uint16Array(handFaces), 1));
      const mesh = new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({
        vertexColors: true, roughness: 0.62, metalness: 0.0, side: THREE.DoubleSide }));
      mesh.castShadow = true;
      mesh.frustumCulled = false;
      scene.add(mesh);
      return mesh;
    });
    // Object parts: fixed geometry, one canonical -> world matrix per frame.
    this.parts = parts.map(([vertices, faces]) => {
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.BufferAttribute(vertices, 3));
      geometry.setIndex(new THREE.BufferAttribute(faces, 1));
      geometry.computeVertexNormals();
      const mesh = new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({
        color: 0x8ea3c4, roughness: 0.38, metalness: 0.05, side: THREE.DoubleSide }));
      mesh.matrixAutoUpdate = false;
      mesh.castShadow = true;
      mesh.receiveShadow = true;
      scene.add(mesh);
      return mesh;
    });
    // Objects standing beside the manipulated one: world vertices, never moving.
    this.statics = statics.map(([vertices, faces]) => {
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.BufferAttribute(vertices, 3));
      geometry.setIndex(new THREE.BufferAttribute(faces, 1));
      geometry.computeVertexNormals();
      const mesh = new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({
        color: 0xa7b1c2, roughness: 0.5, metalness: 0.0, side: THREE.DoubleSide }));
      mesh.castShadow = true;
      mesh.receiveShadow = true;
      scene.add(mesh);
      return mesh;
    });
    // Affordance points, grouped by part so that each moves with its part.
    this.pointSets = this.parts.map((_, k) => {
      const ids = [];
      for (let i = 0; i < pointParts.length; i++) if (pointParts[i] === k) ids.push(i);
      const positions = new Float32Array(ids.length * 3);
      ids.forEach((id, j) => positions.set(points.subarray(id * 3, id * 3 + 3), j * 3));
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.BufferAttribute(positions, 3));
      geometry.setAttribute('color', new THREE.BufferAttribute(new Float32Array(ids.length * 3), 3));
      const cloud = new THREE.Points(geometry, new THREE.PointsMaterial({ size: 0.0045,
        vertexColors: true, depthTest: true }));
      cloud.matrixAutoUpdate = false;
      cloud.userData.ids = ids;
      scene.add(cloud);
      return cloud;
    });
    this.numPoints = pointParts.length;
    this.maskShown = null;
    new ResizeObserver(() => { this.resize(); this.render(); }).observe(this.container);
    this.resize();
  }

  resize() {
    const { clientWidth: width, clientHeight: height } = this.container;
    if (!width || !height) return;
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
  }

  segmentAt(frame) {
    const spans = this.data.subtasks;
    for (let s = spans.length - 1; s >= 0; s--) if (frame >= spans[s].start) return s;
    return 0;
  }

  setFrame(frame) {
    frame = Math.max(0, Math.min(this.numFrames - 1, frame));
    this.frame = frame;
    const V = this.numVertices;
    const step = this.data.contact ? this.data.contact.step : 0;
    const threshold = this.data.contactThresholdM;
    for (let side = 0; side < 2; side++) {
      const mesh = this.hands[side];
      mesh.visible = state.toggles[side === 0 ? 'leftHand' : 'rightHand'] &&
        this.active[frame * 2 + side] === 1;
      if (!mesh.visible) continue;
      const base = (frame * 2 + side) * V;
      const position = mesh.geometry.attributes.position, color = mesh.geometry.attributes.color;
      position.array.set(this.handVertices.subarray(base * 3, (base + V) * 3));
      position.needsUpdate = true;
      mesh.geometry.computeVertexNormals();
      const skin = SKIN[side];
      for (let i = 0; i < V; i++) {
        let rgb = skin, weight = 0;
        if (state.toggles.heat && this.contact) {
          const distance = this.contact[base + i] * step;
          if (distance < 0) { rgb = PENETRATION_RGB; weight = Math.min(1, 0.35 - distance / PENETRATION_FULL_M); }
          else if (distance < threshold) { rgb = CONTACT_RGB; weight = 0.85 * (1 - distance / threshold); }
        }
        for (let c = 0; c < 3; c++) color.array[i * 3 + c] = skin[c] * (1 - weight) + rgb[c] * weight;
      }
      color.needsUpdate = true;
    }
    const K = this.parts.length;
    this.parts.forEach((mesh, k) => {
      mesh.matrix.fromArray(this.transforms, (frame * K + k) * 16).transpose();
      mesh.matrixWorldNeedsUpdate = true;
      mesh.visible = state.toggles.object;
      const cloud = this.pointSets[k];
      cloud.matrix.copy(mesh.matrix);
      cloud.matrixWorldNeedsUpdate = true;
      cloud.visible = state.toggles.masks && this.masks !== null;
    });
    for (const mesh of this.statics) mesh.visible = state.toggles.object;
    const segment = this.segmentAt(frame);
    const maskIndex = state.maskChoice === 'current' ? segment : Number(state.maskChoice);
    if (this.masks && maskIndex !== this.maskShown && maskIndex < this.masks.length / this.numPoints) {
      this.maskShown = maskIndex;
      for (const cloud of this.pointSets) {
        const color = cloud.geometry.attributes.color;
        cloud.userData.ids.forEach((id, j) => {
          const m = this.masks[maskIndex * this.numPoints + id] / 255;
          color.array.set([0.55 + 0.4 * m, 0.58 - 0.45 * m, 0.62 - 0.5 * m], j * 3);
        });
        color.needsUpdate = true;
      }
    }
    const span = this.data.subtasks[segment];
    this.caption.hidden = !state.toggles.plan || !span || !span.text;
    if (span) this.caption.textContent = `[${segment + 1}/${this.data.subtasks.length}] ${span.text}`;
    this.render();
  }

  render() {
    const o = state.orbit;
    const target = this.center.clone().add(o.pan);
    const radius = this.size * o.distance;
    this.camera.position.set(
      target.x + radius * Math.cos(o.elevation) * Math.cos(o.azimuth),
      target.y + radius * Math.cos(o.elevation) * Math.sin(o.azimuth),
      target.z + radius * Math.sin(o.elevation));
    this.camera.lookAt(target);
    this.renderer.render(this.scene, this.camera);
  }
}

// ---------------------------------------------------------------- shared state and controls
const state = {
  time: 0, playing: false, speed: 1, maskChoice: 'current',
  toggles: { leftHand: true, rightHand: true, object: true, masks: false, heat: true, plan: true },
  orbit: { azimuth: -1.2, elevation: 0.55, distance: 2.2, pan: new THREE.Vector3() },
};
const views = document.getElementById('views');
const panes = SCENES.map((data) => {
  const container = document.createElement('div');
  container.className = 'view';
  views.appendChild(container);
  return new Pane(data, container);
});
await Promise.all(panes.map((pane) => pane.build()));
const duration = Math.max(...panes.map((p) => p.numFrames / p.data.fps));
const masterFps = Math.max(...panes.map((p) => p.data.fps));

function frameOf(pane) { return Math.min(pane.numFrames - 1, Math.floor(state.time * pane.data.fps + 1e-6)); }
function refresh() {
  panes.forEach((pane) => pane.setFrame(frameOf(pane)));
  drawTracks();
  const label = panes.map((p) => `${p.frame}/${p.numFrames - 1}`).join('  ·  ');
  document.getElementById('frame-label').textContent = `frame ${label}  (${state.time.toFixed(2)} s)`;
  document.querySelectorAll('.plan .line').forEach((line) => {
    const pane = panes[Number(line.dataset.pane)];
    line.classList.toggle('current', Number(line.dataset.segment) === pane.segmentAt(pane.frame));
  });
  document.body.dataset.frame = String(panes[0].frame);
}
function setTime(seconds) { state.time = Math.max(0, Math.min(duration - 1e-6, seconds)); refresh(); }

const TOGGLE_LABELS = { leftHand: 'left hand', rightHand: 'right hand', object: 'object',
  masks: 'affordance points', heat: 'contact / penetration heat', plan: 'plan text' };
const toggles = document.getElementById('toggles');
for (const [key, text] of Object.entries(TOGGLE_LABELS)) {
  const label = document.createElement('label');
  label.innerHTML = `<input type="checkbox" id="toggle-${key}"> ${text}`;
  const box = label.querySelector('input');
  box.checked = state.toggles[key];
  box.addEventListener('change', () => {
    state.toggles[key] = box.checked;
    document.getElementById('plans').hidden = !state.toggles.plan;
    refresh();
  });
  toggles.appendChild(label);
}
const maskChoice = document.getElementById('mask-choice');
const numSegments = Math.max(...panes.map((p) => p.data.subtasks.length));
for (let s = 0; s < numSegments; s++) {
  const option = document.createElement('option');
  option.value = String(s);
  option.textContent = `sub-task ${s + 1}: ${(panes[0].data.subtasks[s] || {}).text || ''}`.slice(0, 60);
  maskChoice.appendChild(option);
}
maskChoice.addEventListener('change', () => {
  state.maskChoice = maskChoice.value;
  state.toggles.masks = true;
  document.getElementById('toggle-masks').checked = true;
  panes.forEach((p) => { p.maskShown = null; });
  refresh();
});

const plans = document.getElementById('plans');
panes.forEach((pane, index) => {
  const block = document.createElement('div');
  block.className = 'plan';
  const heading = document.createElement('h2');
  heading.textContent = pane.data.name + (pane.data.planText ? ': ' + pane.data.planText.split('\n')[0] : '');
  block.appendChild(heading);
  pane.data.subtasks.forEach((span, s) => {
    const line = document.createElement('div');
    line.className = 'line';
    line.dataset.pane = String(index);
    line.dataset.segment = String(s);
    const detail = [span.primitive, span.hands].filter(Boolean).join(', ');
    line.textContent = `${s + 1}. [${span.start}–${span.end}) ${span.text || '(transition)'}${detail ? ' — ' + detail : ''}`;
    line.addEventListener('click', () => setTime(span.start / pane.data.fps));
    block.appendChild(line);
  });
  plans.appendChild(block);
});

// Timeline and figures share one x axis: seconds 0..duration.
const timeline = document.getElementById('timeline');
const figureBox = document.getElementById('figures');
const FIGURES = [
  { key: 'penetration_mm', label: 'penetration (mm)', color: '#e0241b', kind: 'line' },
  { key: 'in_contact', label: 'contact', color: '#2fb36d', kind: 'band' },
  { key: 'holding', label: 'holding', color: '#3b6fd4', kind: 'band' },
  { key: 'volume_cm3', label: 'hand ∩ object (cm³)', color: '#9b4dca', kind: 'line' },
];
const figureCanvases = [];
panes.forEach((pane) => {
  if (!pane.data.figures) return;
  for (const figure of FIGURES) {
    const values = pane.data.figures[figure.key];
    if (!values) continue;
    const wrap = document.createElement('div');
    wrap.className = 'figure';
    const canvas = document.createElement('canvas');
    wrap.appendChild(canvas);
    figureBox.appendChild(wrap);
    const prefix = panes.length > 1 ? pane.data.name + ': ' : '';
    figureCanvases.push({ canvas, pane, values, ...figure, label: prefix + figure.label });
  }
});

function context2d(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return [g, width, height];
}
const PALETTE = ['#cfd8e8', '#e3d9c6', '#d5e6d2', '#ead0d6', '#d9d2ea', '#d0e4e8'];
function drawTracks() {
  const [g, width, height] = context2d(timeline);
  const rowHeight = height / panes.length;
  panes.forEach((pane, row) => {
    pane.data.subtasks.forEach((span, s) => {
      const x0 = span.start / pane.data.fps / duration * width;
      const x1 = span.end / pane.data.fps / duration * width;
      g.fillStyle = span.text ? PALETTE[s % PALETTE.length] : '#eeeeee';
      g.fillRect(x0, row * rowHeight + 1, x1 - x0 - 1, rowHeight - 2);
      g.fillStyle = '#333';
      g.font = '11px system-ui, sans-serif';
      g.save();
      g.beginPath();
      g.rect(x0, row * rowHeight, x1 - x0 - 2, rowHeight);
      g.clip();
      g.fillText(`${s + 1} ${span.text}`, x0 + 3, row * rowHeight + rowHeight / 2 + 4);
      g.restore();
    });
  });
  drawCursor(g, width, height);
  for (const figure of figureCanvases) {
    const [f, w, h] = context2d(figure.canvas);
    const values = figure.values, fps = figure.pane.data.fps;
    const top = Math.max(...values, 1e-9);
    f.fillStyle = figure.color;
    f.strokeStyle = figure.color;
    if (figure.kind === 'band') {
      values.forEach((v, t) => { if (v) f.fillRect(Math.floor(t / fps / duration * w), 14, Math.ceil(w / duration / fps) + 1, h - 18); });
    } else {
      f.beginPath();
      values.forEach((v, t) => {
        const x = t / fps / duration * w, y = h - 3 - (v / top) * (h - 18);
        if (t === 0) f.moveTo(x, y); else f.lineTo(x, y);
      });
      f.stroke();
    }
    f.fillStyle = '#333';
    f.font = '11px system-ui, sans-serif';
    const now = values[figure.pane.frame];
    const reading = figure.kind === 'band' ? (now ? 'yes' : 'no') : `${now.toFixed(2)} (max ${top.toFixed(2)})`;
    f.fillText(`${figure.label}: ${reading}`, 3, 11);
    drawCursor(f, w, h);
  }
}
function drawCursor(g, width, height) {
  const x = state.time / duration * width;
  g.fillStyle = '#111';
  g.fillRect(x - 1, 0, 2, height);
}
function scrubFrom(element) {
  let dragging = false;
  const seek = (event) => {
    const box = element.getBoundingClientRect();
    setTime((event.clientX - box.left) / box.width * duration);
  };
  element.addEventListener('pointerdown', (event) => { dragging = true; element.setPointerCapture(event.pointerId); seek(event); });
  element.addEventListener('pointermove', (event) => { if (dragging) seek(event); });
  element.addEventListener('pointerup', () => { dragging = false; });
}
scrubFrom(document.getElementById('tracks'));

// Orbit camera, shared by every pane: drag to orbit, right/shift-drag to pan, wheel to zoom.
for (const pane of panes) {
  const canvas = pane.canvas;
  let last = null, panning = false;
  canvas.addEventListener('contextmenu', (event) => event.preventDefault());
  canvas.addEventListener('pointerdown', (event) => {
    last = [event.clientX, event.clientY];
    panning = event.button === 2 || event.shiftKey;
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener('pointerup', () => { last = null; });
  canvas.addEventListener('pointermove', (event) => {
    if (!last) return;
    const dx = event.clientX - last[0], dy = event.clientY - last[1];
    last = [event.clientX, event.clientY];
    const o = state.orbit;
    if (panning) {
      const right = new THREE.Vector3().setFromMatrixColumn(pane.camera.matrixWorld, 0);
      const up = new THREE.Vector3().setFromMatrixColumn(pane.camera.matrixWorld, 1);
      const scale = pane.size * o.distance / canvas.clientHeight;
      o.pan.addScaledVector(right, -dx * scale).addScaledVector(up, dy * scale);
    } else {
      o.azimuth -= dx * 0.008;
      o.elevation = Math.max(-0.2, Math.min(1.5, o.elevation + dy * 0.008));
    }
    panes.forEach((p) => p.render());
  });
  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    state.orbit.distance = Math.max(0.3, Math.min(12, state.orbit.distance * Math.exp(event.deltaY * 0.001)));
    panes.forEach((p) => p.render());
  }, { passive: false });
}

const playButton = document.getElementById('play');
function setPlaying(playing) {
  state.playing = playing;
  playButton.textContent = playing ? '❚❚' : '▶';
}
playButton.addEventListener('click', () => setPlaying(!state.playing));
document.getElementById('speed').addEventListener('change', (event) => { state.speed = Number(event.target.value); });
window.addEventListener('keydown', (event) => {
  if (event.target.tagName === 'SELECT') return;
  if (event.code === 'Space') { event.preventDefault(); setPlaying(!state.playing); }
  if (event.code === 'ArrowRight') setTime(state.time + 1 / masterFps);
  if (event.code === 'ArrowLeft') setTime(state.time - 1 / masterFps);
});
let previous = null;
function tick(now) {
  if (state.playing && previous !== null) {
    let time = state.time + (now - previous) / 1000 * state.speed;
    if (time >= duration) time = 0;
    setTime(time);
  }
  previous = now;
  requestAnimationFrame(tick);
}
window.addEventListener('resize', drawTracks);
refresh();
requestAnimationFrame(tick);
// For scripts and tests: the first frame is drawn once `ready` is set.
window.openhoiViewer = {
  ready: true, numFrames: panes.map((p) => p.numFrames),
  setFrame(frame) { setTime((frame + 0.5) / panes[0].data.fps); return panes.map((p) => p.frame); },
  frames() { return panes.map((p) => p.frame); },
  play: () => setPlaying(true), pause: () => setPlaying(false),
  toggle(key, value) {
    state.toggles[key] = value;
    document.getElementById(`toggle-${key}`).checked = value;
    refresh();
  },
};
document.body.dataset.ready = '1';
