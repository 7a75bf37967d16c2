// The viewer: one image or one scan at full resolution in NiiVue (WebGL2, vendor/niivue.js), in a
// modal dialog: window/level (right-drag, or the two boxes), zoom and pan, a scan in three planes,
// the model's heatmap as an overlay with its opacity. NiiVue is imported only when a viewer opens,
// so the page's first load does not wait for it. Pixels come from the page's worker and reach
// NiiVue as in-memory NIfTI (viewervolumes.js): nothing is fetched, nothing leaves the page.
import { $, element } from "./dom.js";
import { HEATMAP_FULL_SCALE } from "../shared/explain.js";
import { state } from "./state.js";
import { greyValues, heatmapVolume, niftiBytes, valueRange } from "./viewervolumes.js";

let niivue = null;
const loadNiivue = () => (niivue ??= import("../../vendor/niivue.js").then((module) => module.default));

const ZOOM_STEP = 1.25;
// Below this a heatmap voxel is drawn clear: a region that does not matter shows the image.
const HEATMAP_CLEAR = 0.002;

function numberBox(label, onChange) {
  const input = element("input", { attrs: { type: "number", step: "any", inputmode: "decimal" } });
  input.addEventListener("change", () => Number.isFinite(input.valueAsNumber) && onChange());
  return { input, control: element("label", { className: "control" }, [element("span", { text: label }), input]) };
}

function button(text, onClick, attrs = {}) {
  const node = element("button", { className: "button", text, attrs: { type: "button", ...attrs } });
  node.addEventListener("click", onClick);
  return node;
}

/**
 * Opens the viewer. `pixels()` resolves to {columns, rows, slices, data, spacing}; `slice` is the
 * scan's slice to start at; `heatmap()` returns {map, width, height} or null (for a scan, of `slice`).
 */
export async function openViewer({ title, pixels, slice = 0, heatmap = () => null }) {
  const canvas = element("canvas", { attrs: { role: "img", "aria-label": `${title}, in the viewer` } });
  const status = element("p", { className: "viewer-status", text: "Opening the viewer…", attrs: { role: "status" } });
  const centre = numberBox("Window centre (level)", () => applyWindow());
  const width = numberBox("Window width", () => applyWindow());
  const controls = element("div", { className: "controls viewer-controls" }, [centre.control, width.control]);
  const dialog = element("dialog", { className: "image-viewer", attrs: { "aria-label": `Viewer: ${title}` } }, [
    element("div", { className: "viewer-head" }, [element("h2", { text: title }), button("Close", () => dialog.close())]),
    status,
    element("div", { className: "viewer-stage" }, [canvas]),
    controls,
    element("p", { className: "hint", text: "Right-drag: window/level. Drag (with Shift on a scan): pan. " +
      "On a scan, click a plane to move through the other two. Escape closes." }),
  ]);
  document.body.append(dialog);
  let nv = null;
  dialog.addEventListener("close", () => {
    nv?.gl?.getExtension("WEBGL_lose_context")?.loseContext(); // browsers cap live WebGL contexts
    dialog.remove();
  });
  dialog.showModal();

  let image = null;
  function applyWindow() {
    if (!image) return;
    image.cal_min = centre.input.valueAsNumber - width.input.valueAsNumber / 2;
    image.cal_max = centre.input.valueAsNumber + width.input.valueAsNumber / 2;
    nv.updateGLVolume();
  }
  function showWindow() {
    centre.input.value = String(+((image.cal_min + image.cal_max) / 2).toPrecision(6));
    width.input.value = String(+(image.cal_max - image.cal_min).toPrecision(6));
  }

  try {
    const [library, volume] = await Promise.all([loadNiivue(), pixels()]);
    if (!dialog.open) return;
    const { Niivue, NVImage, SLICE_TYPE, DRAG_MODE, SHOW_RENDER } = library;
    const scan = volume.slices > 1;
    nv = new Niivue({
      logLevel: "error", isRadiologicalConvention: true, isOrientationTextVisible: scan, backColor: [0, 0, 0, 1],
      crosshairWidth: scan ? 1 : 0, show3Dcrosshair: false, multiplanarShowRender: SHOW_RENDER.NEVER,
      dragAndDropEnabled: false,
      mouseEventConfig: {
        leftButton: { primary: scan ? DRAG_MODE.crosshair : DRAG_MODE.pan, withShift: DRAG_MODE.pan },
        rightButton: DRAG_MODE.windowing, centerButton: DRAG_MODE.pan,
      },
    });
    await nv.attachToCanvas(canvas);
    image = await NVImage.loadFromUrl({ url: niftiBytes(volume), name: "image.nii" });
    const { low, high } = valueRange(volume.data);
    image.cal_min = low;
    image.cal_max = high;
    nv.addVolume(image);
    nv.onIntensityChange = showWindow;
    showWindow();
    const size = scan ? `${volume.columns} × ${volume.rows} × ${volume.slices} voxels, in three planes`
      : `${volume.columns} × ${volume.rows} pixels, at full resolution`;
    status.textContent = size;
    if (scan) {
      nv.scene.crosshairPos = [0.5, 0.5, (slice + 0.5) / volume.slices];
      nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
      nv.onLocationChange = ({ vox }) => { status.textContent = `${size}; axial slice ${vox[2]} of ${volume.slices - 1}`; };
    } else {
      nv.setSliceType(SLICE_TYPE.AXIAL);
    }
    controls.append(...zoomButtons(nv));
    const map = heatmap();
    if (map) controls.append(await heatmapControl(nv, NVImage, map, { ...volume, slice }));
    nv.updateGLVolume();
  } catch (err) {
    status.textContent = `The viewer could not open: ${err.message}`;
  }
  return dialog;
}

function zoomButtons(nv) {
  const zoom = (factor) => {
    const [x, y, z, scale] = nv.scene.pan2Dxyzmm;
    nv.setPan2Dxyzmm(factor ? [x, y, z, scale * factor] : [0, 0, 0, 1]);
  };
  return [button("Zoom in", () => zoom(ZOOM_STEP)), button("Zoom out", () => zoom(1 / ZOOM_STEP)),
    button("Reset zoom and pan", () => zoom(0))];
}

async function heatmapControl(nv, NVImage, map, extent) {
  const overlay = await NVImage.loadFromUrl({ url: heatmapVolume(map, extent), name: "heatmap.nii", colormap: "warm",
    opacity: 0.6, cal_min: HEATMAP_CLEAR, cal_max: HEATMAP_FULL_SCALE });
  overlay.cal_min = HEATMAP_CLEAR;
  overlay.cal_max = HEATMAP_FULL_SCALE;
  nv.addVolume(overlay);
  const slider = element("input", { attrs: { type: "range", min: "0", max: "100", step: "5", value: "60" } });
  slider.addEventListener("input", () => nv.setOpacity(1, slider.valueAsNumber / 100));
  return element("label", { className: "control" }, [element("span", { text: "Heatmap opacity" }), slider]);
}

/** The grey pixels of a decoded image {width, height, channels, data}, for `openViewer`. */
export function imagePixels(decoded) {
  return { columns: decoded.width, rows: decoded.height, slices: 1, data: greyValues(decoded) };
}

/** The "Open viewer" button; `options()` gives openViewer's options at the moment it is pressed. */
export function viewerButton(options) {
  return button("Open viewer (full resolution)", () => openViewer(options()));
}

/** The detail panel's button: the selected file in the viewer, with the heatmap the panel shows. */
export function wireImageViewer() {
  $("viewer").append(viewerButton(() => {
    const row = state.selected;
    const explained = row.explanations.get(`${row.frame}:${$("explain-label").value}`);
    return { title: row.name, pixels: async () => imagePixels(await state.classifier.pixels(row.file, { frame: row.frame })),
      heatmap: () => ($("heatmap-legend").hidden ? null : explained) };
  }));
}
