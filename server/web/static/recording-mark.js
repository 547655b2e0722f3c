// 录制中: every page in a recorded room says so, with the policy it is recorded under (pupils on camera are
// minors: docs/recording-policy.md, served at /recording-policy).
const TEXT = {
  zh: { mark: "● 录制中", policy: "录制规定", title: "本课按教共体的录制规定录制：录像仅供本教共体的教师、学校和教研员回放，保存期满自动删除。" },
  en: { mark: "● Recording", policy: "policy", title: "Recorded under the community's recording policy: only its teachers, schools and researchers may watch it, and it is deleted when its retention ends." },
};

export function recordingMark(lang = "zh") {
  const node = document.createElement("div");
  node.id = "recording-mark";
  node.setAttribute("role", "status");
  node.hidden = true;
  const label = document.createElement("span");
  const link = document.createElement("a");
  link.href = "/recording-policy";
  link.target = "_blank";
  link.rel = "noopener";
  node.append(label, link);
  document.body.append(node);
  const paint = () => {
    const text = TEXT[lang] || TEXT.zh;
    label.textContent = text.mark;
    link.textContent = text.policy;
    node.title = text.title;
  };
  paint();
  return {
    set(active) { node.hidden = !active; },
    language(next) { lang = next; paint(); },
    get active() { return !node.hidden; },
  };
}
