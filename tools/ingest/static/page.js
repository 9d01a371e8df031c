/* ei_ingest dataset page: reads JSON from /page/api/ and draws with SVG. No libraries, no
   build step. Every stored value is written with textContent, never parsed as HTML. */
"use strict";

(() => {
  const POLL_MS = 2000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2457c5", "#d1495b", "#2a9d58", "#e09f1f", "#7b3fb8", "#138a9e", "#8c564b",
    "#555555"];
  const MARGIN = { left: 64, right: 14, top: 10, bottom: 30 };
  const LOGIN_REQUIRED = "login required";
  let csrf = "";
  let remoteOn = false;

  const $ = (id) => document.getElementById(id);
  const setStatus = (text) => { $("status").textContent = text; };

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  async function getJSON(path, options) {
    const init = Object.assign({ credentials: "same-origin" }, options || {});
    init.headers = Object.assign({ Accept: "application/json" }, init.headers || {});
    const response = await fetch(path, init);
    if (response.status === 401) {
      location.assign("/login?next=" + encodeURIComponent(location.pathname));
      throw new Error(LOGIN_REQUIRED);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  const post = (path) => getJSON(path, { method: "POST", headers: { "x-csrf-token": csrf } });

  async function startSession() {
    const info = await getJSON("/page/api/session");
    remoteOn = info.remote === true;
    csrf = info.csrf;
    const logout = $("logout");
    if (logout && info.canLogout) {
      logout.hidden = false;
      logout.addEventListener("click", () => {
        post("/logout").then(() => location.assign("/login"), fail);
      });
    }
  }

  function fail(error) {
    if (error && error.message === LOGIN_REQUIRED) return;
    setStatus("error: " + (error && error.message ? error.message : error));
    console.error(error);
  }

  // --- formatting --------------------------------------------------------------------------

  function lengthText(sample) {
    if (sample.rows == null || sample.intervalMs == null) return "";
    const ms = sample.rows * sample.intervalMs;
    return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
  }
  const sensorsText = (s) =>
    (s.sensors || []).map((x) => (x.units ? `${x.name} (${x.units})` : x.name)).join(", ");
  const metadataText = (s) =>
    Object.entries(s.metadata || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  const deviceText = (s) => [s.deviceType, s.deviceName].filter(Boolean).join(" \u00b7 ");
  function whenText(s) {
    const date = new Date(s.created);
    return Number.isNaN(date.getTime()) ? s.created : date.toLocaleString();
  }
  function signatureCell(s) {
    const td = el("td");
    td.appendChild(el("span", s.signature, `sig sig-${s.signature}`));
    return td;
  }
  function number(value) {
    if (value === 0) return "0";
    const size = Math.abs(value);
    if (size >= 1e6 || size < 1e-3) return value.toExponential(2);
    return String(Number(value.toPrecision(6)));
  }

  // --- the dataset -------------------------------------------------------------------------

  const dataset = {
    version: null,
    seen: null,

    query() {
      const params = new URLSearchParams();
      const category = $("filter-category").value;
      const label = $("filter-label").value;
      if (category) params.set("category", category);
      if (label) params.set("label", label);
      const text = params.toString();
      return text ? `?${text}` : "";
    },

    async load() {
      const data = await getJSON("/page/api/summary" + this.query());
      this.version = data.version;
      this.counts(data.counts);
      this.filters(data.counts);
      this.samples(data.samples);
      setStatus(`updated ${new Date().toLocaleTimeString()}`);
    },

    counts(counts) {
      const categories = [...new Set(counts.map((c) => c.category))];
      const labels = [...new Set(counts.map((c) => c.label))];
      const table = $("counts");
      const head = el("tr");
      head.appendChild(el("th", "label"));
      for (const category of categories) head.appendChild(el("th", category, "num"));
      head.appendChild(el("th", "total", "num"));
      table.tHead.replaceChildren(head);
      const rows = [];
      const totals = new Map();
      for (const label of labels) {
        const tr = el("tr");
        tr.appendChild(el("td", label === null ? "(unlabeled)" : label));
        let total = 0;
        for (const category of categories) {
          const found = counts.find((c) => c.category === category && c.label === label);
          const n = found ? found.count : 0;
          total += n;
          totals.set(category, (totals.get(category) || 0) + n);
          tr.appendChild(el("td", n, "num"));
        }
        tr.appendChild(el("td", total, "num"));
        rows.push(tr);
      }
      const foot = el("tr");
      foot.appendChild(el("th", "all labels"));
      let all = 0;
      for (const category of categories) {
        all += totals.get(category);
        foot.appendChild(el("th", totals.get(category), "num"));
      }
      foot.appendChild(el("th", all, "num"));
      rows.push(foot);
      table.tBodies[0].replaceChildren(...rows);
    },

    filters(counts) {
      const fill = (select, values) => {
        const current = select.value;
        const options = [el("option", "all")];
        options[0].value = "";
        for (const value of values) {
          const option = el("option", value);
          option.value = value;
          options.push(option);
        }
        select.replaceChildren(...options);
        select.value = values.includes(current) ? current : "";
      };
      fill($("filter-category"), [...new Set(counts.map((c) => c.category))].sort());
      fill($("filter-label"), [...new Set(counts.map((c) => c.label).filter((l) => l !== null))]
        .sort());
    },

    samples(samples) {
      const rows = samples.map((s) => {
        const tr = el("tr");
        tr.dataset.id = s.id;
        if (this.seen && !this.seen.has(s.id)) tr.className = "new";
        const name = el("td");
        const link = el("a", s.fileName);
        link.href = `/samples/${s.id}`;
        name.appendChild(link);
        tr.appendChild(name);
        tr.appendChild(el("td", s.label === null ? "" : s.label));
        tr.appendChild(el("td", s.category));
        tr.appendChild(el("td", s.rows == null ? "" : s.rows, "num"));
        tr.appendChild(el("td", lengthText(s), "num"));
        tr.appendChild(el("td", sensorsText(s) || s.contentType));
        tr.appendChild(signatureCell(s));
        tr.appendChild(el("td", deviceText(s)));
        tr.appendChild(el("td", metadataText(s), "meta"));
        tr.appendChild(el("td", whenText(s), "meta"));
        return tr;
      });
      this.seen = new Set(samples.map((s) => s.id));
      $("samples").tBodies[0].replaceChildren(...rows);
      $("empty").hidden = samples.length > 0;
      $("shown").textContent = `(${samples.length} shown)`;
    },

    async poll() {
      try {
        const now = await getJSON("/page/api/version");
        if (now.version !== this.version) await this.load();
      } catch (error) {
        if (error.message !== LOGIN_REQUIRED) setStatus(`not updated: ${error.message}`);
      } finally {
        setTimeout(() => this.poll(), POLL_MS);
      }
    },

    async start() {
      for (const id of ["filter-category", "filter-label"]) {
        $(id).addEventListener("change", () => this.load().catch(fail));
      }
      await this.load();
      setTimeout(() => this.poll(), POLL_MS);
    },
  };

  // --- remote-management devices ----------------------------------------------------------

  const SAMPLING_POLL_MS = 500;
  const DONE = ["finished", "failed"];

  const rateText = (hz) => `${number(hz)} Hz`;
  function sensorText(sensor) {
    const parts = [];
    if (sensor.frequencies.length) parts.push(sensor.frequencies.map(rateText).join(", "));
    if (sensor.maxSampleLengthS != null) parts.push(`at most ${sensor.maxSampleLengthS} s`);
    return parts.length ? `${sensor.name} (${parts.join("; ")})` : sensor.name;
  }

  // Options as [value, text]; refilled only when they change, so a poll neither closes an
  // open list nor loses the user's choice.
  function fillSelect(select, items) {
    const key = JSON.stringify(items);
    if (select.dataset.items === key) return;
    select.dataset.items = key;
    const current = select.value;
    select.replaceChildren(...items.map(([value, text]) => {
      const option = el("option", text);
      option.value = value;
      return option;
    }));
    if (items.some(([value]) => value === current)) select.value = current;
  }

  const devices = {
    list: [],
    following: null, // the sampling request the page shows, until finished or failed

    chosen() {
      const id = $("sample-device").value;
      return this.list.find((d) => d.deviceId === id && d.remote_mgmt_connected);
    },

    sensor() {
      const device = this.chosen();
      const name = $("sample-sensor").value;
      return device ? device.sensors.find((s) => s.name === name) : undefined;
    },

    async load() {
      this.list = (await getJSON("/page/api/devices")).devices;
      this.table();
      this.form();
    },

    table() {
      const rows = this.list.map((d) => {
        const tr = el("tr", null, d.remote_mgmt_connected ? "connected" : "gone");
        tr.dataset.device = d.deviceId;
        tr.appendChild(el("td", d.deviceId));
        tr.appendChild(el("td", d.deviceType));
        tr.appendChild(el("td", d.remote_mgmt_connected ? "connected"
          : `last seen ${whenText({ created: d.lastSeen })}`));
        tr.appendChild(el("td", d.sensors.map(sensorText).join("; ")));
        return tr;
      });
      $("devices").tBodies[0].replaceChildren(...rows);
      $("devices-empty").hidden = this.list.length > 0;
      $("devices").hidden = this.list.length === 0;
      const live = this.list.filter((d) => d.remote_mgmt_connected).length;
      $("devices-note").textContent = `(${live} connected)`;
    },

    form() {
      const live = this.list.filter((d) => d.remote_mgmt_connected);
      $("sampling-form").hidden = live.length === 0 && this.following === null;
      fillSelect($("sample-device"),
        live.map((d) => [d.deviceId, `${d.deviceId} (${d.deviceType})`]));
      this.sensors();
    },

    sensors() {
      const device = this.chosen();
      fillSelect($("sample-sensor"), device ? device.sensors.map((s) => [s.name, s.name]) : []);
      this.rates();
    },

    rates() {
      const sensor = this.sensor();
      fillSelect($("sample-frequency"),
        sensor ? sensor.frequencies.map((hz) => [String(hz), rateText(hz)]) : []);
      $("sample-start").disabled = this.following !== null;
    },

    problem(device, sensor, hz, lengthMs) {
      if (!device) return "pick a connected device";
      if (!sensor) return "pick one of the device's sensors";
      if (!(hz > 0)) return `${sensor.name} lists no frequency to pick`;
      if (sensor.maxSampleLengthS != null && lengthMs > sensor.maxSampleLengthS * 1000) {
        return `${sensor.name} records at most ${sensor.maxSampleLengthS} s`;
      }
      return null;
    },

    async submit(event) {
      event.preventDefault();
      const device = this.chosen();
      const sensor = this.sensor();
      const hz = Number($("sample-frequency").value);
      const lengthMs = Math.round(
        Number($("sample-length").value) * Number($("sample-unit").value));
      const problem = this.problem(device, sensor, hz, lengthMs);
      if (problem) {
        this.show({ state: "not started", error: problem });
        return;
      }
      const body = {
        label: $("sample-label").value, lengthMs, category: $("sample-category").value,
        intervalMs: 1000 / hz, sensor: sensor.name,
      };
      let answer;
      try {
        answer = await getJSON(
          `/page/api/devices/${encodeURIComponent(device.deviceId)}/start-sampling`, {
            method: "POST",
            headers: { "x-csrf-token": csrf, "Content-Type": "application/json" },
            body: JSON.stringify(body),
          });
      } catch (error) {
        if (error.message !== LOGIN_REQUIRED) {
          this.show({ state: "not started", error: error.message });
        }
        return;
      }
      this.following = answer.id;
      this.rates();
      this.show({ id: answer.id, state: "requested" });
      this.follow(answer.id);
    },

    async follow(id) {
      let request;
      try {
        request = (await getJSON(`/page/api/sampling/${id}`)).request;
      } catch (error) {
        if (error.message === LOGIN_REQUIRED) return;
        request = { id, state: "unknown", error: error.message };
      }
      this.show(request);
      if (DONE.includes(request.state) || request.state === "unknown") {
        this.following = null;
        this.rates();
        this.form();
        return;
      }
      setTimeout(() => this.follow(id), SAMPLING_POLL_MS);
    },

    show(request) {
      const line = $("sampling");
      line.hidden = false;
      line.className = `state-${request.state.replace(/ /g, "-")}`;
      $("sampling-id").textContent = request.id == null ? "" : `request ${request.id}:`;
      $("sampling-state").textContent = request.state;
      let detail = "";
      if (request.error) detail = request.error;
      else if (request.state === "reading" && request.progressPercentage != null) {
        detail = `${Math.round(request.progressPercentage)} %`;
      } else if (request.state === "finished") detail = "stored as";
      $("sampling-detail").textContent = detail;
      const link = $("sampling-link");
      link.hidden = !(request.state === "finished" && request.sample);
      if (!link.hidden) {
        link.href = `/samples/${request.sample.id}`;
        link.textContent = request.sample.fileName;
      }
    },

    async poll() {
      try {
        await this.load();
      } catch (error) {
        if (error.message !== LOGIN_REQUIRED) {
          $("devices-note").textContent = `(not updated: ${error.message})`;
        }
      } finally {
        setTimeout(() => this.poll(), POLL_MS);
      }
    },

    async start() {
      $("devices-panel").hidden = false;
      $("sample-device").addEventListener("change", () => this.sensors());
      $("sample-sensor").addEventListener("change", () => this.rates());
      $("sampling-form").addEventListener("submit", (event) => this.submit(event).catch(fail));
      await this.load();
      setTimeout(() => this.poll(), POLL_MS);
    },
  };

  // --- one sample --------------------------------------------------------------------------

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function ticks(low, high, count) {
    const span = high - low;
    let step = 10 ** Math.floor(Math.log10(span / count));
    const ratio = span / count / step;
    if (ratio >= 7.5) step *= 10;
    else if (ratio >= 3.5) step *= 5;
    else if (ratio >= 1.5) step *= 2;
    const out = [];
    for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) {
      out.push(Math.abs(value) < step * 1e-9 ? 0 : value);
    }
    return out;
  }

  function drawPlot(plot) {
    const chart = $("plot");
    const box = chart.getBoundingClientRect();
    const width = Math.round(box.width);
    const height = Math.round(box.height);
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    let tMin = Infinity, tMax = -Infinity, yMin = Infinity, yMax = -Infinity;
    for (const axis of plot.axes) {
      for (const t of axis.t) { if (t < tMin) tMin = t; if (t > tMax) tMax = t; }
      for (const v of axis.v) { if (v < yMin) yMin = v; if (v > yMax) yMax = v; }
    }
    if (tMax === tMin) tMax = tMin + 1;
    if (yMax === yMin) { yMax += 1; yMin -= 1; }
    const pad = (yMax - yMin) * 0.05;
    yMin -= pad;
    yMax += pad;
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const plotHeight = height - MARGIN.top - MARGIN.bottom;
    const x = (t) => MARGIN.left + ((t - tMin) / (tMax - tMin)) * plotWidth;
    const y = (v) => MARGIN.top + ((yMax - v) / (yMax - yMin)) * plotHeight;
    const parts = [];
    for (const value of ticks(yMin, yMax, 6)) {
      parts.push(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value),
        y2: y(value), class: "grid" }));
      parts.push(svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end",
        class: "tick" }, number(value)));
    }
    for (const value of ticks(tMin, tMax, 8)) {
      parts.push(svg("line", { x1: x(value), x2: x(value), y1: MARGIN.top,
        y2: height - MARGIN.bottom, class: "grid" }));
      parts.push(svg("text", { x: x(value), y: height - 10, "text-anchor": "middle",
        class: "tick" }, number(value)));
    }
    parts.push(svg("text", { x: width - MARGIN.right, y: height - 10, "text-anchor": "end",
      class: "tick" }, plot.xUnit));
    const legend = [];
    plot.axes.forEach((axis, index) => {
      const color = COLORS[index % COLORS.length];
      const d = new Array(axis.t.length);
      for (let k = 0; k < axis.t.length; k++) {
        d[k] = `${k ? "L" : "M"}${x(axis.t[k]).toFixed(1)} ${y(axis.v[k]).toFixed(1)}`;
      }
      parts.push(svg("path", { d: d.join(""), class: "trace", stroke: color,
        "data-axis": axis.name }));
      const swatch = el("span", null, "swatch");
      swatch.style.background = color;
      legend.push(swatch, document.createTextNode(axis.units ? `${axis.name} (${axis.units})`
        : axis.name));
    });
    chart.replaceChildren(...parts);
    $("legend").replaceChildren(...legend);
    $("plot-note").textContent = plot.decimated
      ? `${plot.rows} rows per axis, drawn as the lowest and highest value in each of ` +
        `${plot.buckets} pixel columns; the downloads have every row.`
      : `${plot.rows} rows per axis, every row drawn.`;
  }

  function details(s) {
    const items = [
      ["file", s.fileName], ["label", s.label === null ? "(unlabeled)" : s.label],
      ["category", s.category], ["rows", s.rows], ["length", lengthText(s)],
      ["interval", s.intervalMs == null ? "" : `${s.intervalMs} ms`],
      ["sensors", sensorsText(s)], ["signature", s.signature], ["device", deviceText(s)],
      ["metadata", metadataText(s)], ["stored", whenText(s)], ["size", `${s.size} bytes`],
      ["type", s.contentType], ["SHA-256", s.sha256], ["upload source", s.uploadSource],
      ["path", s.path],
    ];
    const nodes = [];
    for (const [name, value] of items) {
      if (value === null || value === undefined || value === "") continue;
      nodes.push(el("dt", name), el("dd", value));
    }
    $("details").replaceChildren(...nodes);
  }

  async function samplePage() {
    const id = location.pathname.split("/").pop();
    const figure = $("plot-figure");
    figure.hidden = false; // laid out first, so its width decides the decimation
    const columns = Math.round($("plot").getBoundingClientRect().width)
      - MARGIN.left - MARGIN.right;
    const width = Math.max(50, Math.min(4000, columns));
    const data = await getJSON(`/page/api/samples/${encodeURIComponent(id)}?width=${width}`);
    const s = data.sample;
    document.title = `${s.fileName} \u00b7 ei_ingest`;
    $("title").textContent = s.fileName;
    details(s);
    const raw = `/page/api/samples/${s.id}/raw`;
    $("download-raw").href = raw;
    if (data.plot) {
      drawPlot(data.plot);
      $("download-csv").href = `/page/api/samples/${s.id}/csv`;
      $("download-csv").hidden = false;
    } else {
      figure.hidden = true;
    }
    if (data.kind === "image" || data.kind === "video" || data.kind === "audio") {
      const media = $(data.kind);
      media.src = `${raw}?inline=1`;
      if (data.kind === "image") media.alt = s.fileName;
      media.hidden = false;
    }
    if (data.error) {
      $("note").textContent = `The values cannot be drawn: ${data.error}`;
      $("note").hidden = false;
    }
    $("delete").addEventListener("click", () => {
      if (!window.confirm(`Delete ${s.fileName}? Its file is removed from the data directory.`)) {
        return;
      }
      post(`/page/api/samples/${s.id}/delete`).then(() => location.assign("/"), fail);
    });
    setStatus("");
  }

  async function start() {
    await startSession();
    if (document.body.dataset.page !== "index") {
      await samplePage();
      return;
    }
    $("remote-off").hidden = remoteOn;
    await Promise.all([dataset.start(), remoteOn ? devices.start() : null]);
  }

  start().catch(fail);
})();
