// The 回放 page's words, zh and en.
import { i18n } from "/static/common.js";

export const tr = i18n({
  zh: { title: "海桥 · 回放", loading: "正在载入录像…", forbidden: "无权观看该录像", noRecording: "该课没有录像",
        notFound: "没有这节课", noSession: "请从研修资源库选择一节课", loadFailed: "无法载入录像：{msg}",
        sync_class: "同步课堂", research: "网络教研", teacher: "主讲教师 {name}", views: "点播 {n} 次",
        featured: "★ 优课", notFeatured: "☆ 标为优课", unfeature: "取消优课", policy: "录制规定",
        download: "下载 MP4", downloading: "正在生成 MP4… {p}%", queued: "排队中…", downloadReady: "下载 MP4 文件",
        downloadFailed: "生成失败：{msg}", play: "▶ 播放", pause: "❚❚ 暂停", notStarted: "未开始", ended: "已结束",
        loadingMedia: "缓冲中…", host: "主讲端", receiver: "听讲端", participant: "教研", screen: "屏幕共享",
        document: "文档展台", camera: "摄像头", microphone: "麦克风", review: "评课", comments: "评课意见",
        noComments: "还没有评课意见", commentPlaceholder: "在当前时刻写下评课意见", postAt: "在 {time} 发表",
        posting: "发表中…", postFailed: "发表失败：{msg}", observe: "观课记录（教研员）", rubric: "评价量表（1–5）",
        objectives: "教学目标", interaction: "师生互动", technology: "技术使用", stTitle: "S-T 编码",
        stHelp: "每 30 秒采样一次：当前是教师行为（T）还是学生行为（S）？", stTeacher: "T 教师", stDue: "第 {n} 个采样（{time}）：教师还是学生？", stStudents: "S 学生",
        undo: "撤销", noSamples: "尚未编码", notePlaceholder: "观察笔记", saveObs: "在 {time} 保存观察记录",
        nothing: "请先评分、编码或写笔记", saved: "已保存", saveFailed: "保存失败：{msg}", observations: "观察记录",
        noObservations: "还没有观察记录", practice: "练习型", lecture: "讲授型", dialogue: "对话型", mixed: "混合型",
        ev_join: "{name} 进入", ev_leave: "{name} 离开", ev_drop: "{name} 掉线", ev_reconnect: "{name} 重连",
        ev_floor_given: "{name} 获得发言", ev_floor_released: "{name} 结束发言", ev_hand_raised: "{name} 举手",
        ev_hand_lowered: "{name} 放下手", ev_share_started: "{name} 开始共享", ev_share_stopped: "{name} 停止共享",
        ev_recording_started: "开始录制", ev_recording_stopped: "停止录制", ev_recording_failed: "录制故障：{name}",
        comment: "评课：{body}", audioBlocked: "浏览器阻止了声音：点击 ▶ 播放 开启", mediaError: "录像文件暂时无法读取，正在重新获取链接…",
        lgFloor: "发言", lgHands: "举手", lgShare: "共享", lgJoin: "进出教室" },
  en: { title: "Haiqiao · Replay", loading: "Loading the recording…", forbidden: "You may not watch this recording",
        noRecording: "This lesson has no recording", notFound: "No such lesson", noSession: "Choose a lesson in the library",
        loadFailed: "Could not load the recording: {msg}", sync_class: "Synchronous class", research: "Online research",
        teacher: "Teacher {name}", views: "{n} views", featured: "★ Featured", notFeatured: "☆ Mark as featured",
        unfeature: "Unmark", policy: "Recording policy", download: "Download MP4", downloading: "Making the MP4… {p}%",
        queued: "Queued…", downloadReady: "Download the MP4 file", downloadFailed: "Failed: {msg}", play: "▶ Play",
        pause: "❚❚ Pause", notStarted: "not started", ended: "ended", loadingMedia: "buffering…", host: "Host",
        receiver: "Classroom", participant: "Participant", screen: "screen", document: "document camera", camera: "camera",
        microphone: "microphone", review: "Review", comments: "Comments", noComments: "No comments yet",
        commentPlaceholder: "Comment on this moment", postAt: "Post at {time}", posting: "posting…",
        postFailed: "Not posted: {msg}", observe: "Observation (researchers)", rubric: "Rubric (1–5)",
        objectives: "Teaching goals", interaction: "Interaction", technology: "Use of technology", stTitle: "S-T coding",
        stHelp: "One sample every 30 s: teacher (T) or students (S)?", stTeacher: "T teacher", stDue: "Sample {n} ({time}): teacher or students?", stStudents: "S students",
        undo: "Undo", noSamples: "no samples yet", notePlaceholder: "Notes", saveObs: "Save observation at {time}",
        nothing: "Score, code or write a note first", saved: "Saved", saveFailed: "Not saved: {msg}",
        observations: "Observations", noObservations: "No observations yet", practice: "practice", lecture: "lecture",
        dialogue: "dialogue", mixed: "mixed", ev_join: "{name} joined", ev_leave: "{name} left", ev_drop: "{name} dropped",
        ev_reconnect: "{name} reconnected", ev_floor_given: "{name} has the floor", ev_floor_released: "{name} gave back the floor",
        ev_hand_raised: "{name} raised a hand", ev_hand_lowered: "{name} lowered the hand", ev_share_started: "{name} started sharing",
        ev_share_stopped: "{name} stopped sharing", ev_recording_started: "recording started", ev_recording_stopped: "recording stopped",
        ev_recording_failed: "recording failed: {name}", comment: "Comment: {body}",
        audioBlocked: "The browser blocked sound: press ▶ Play to hear it", mediaError: "The recording could not be read: fetching fresh links…",
        lgFloor: "floor", lgHands: "hands", lgShare: "sharing", lgJoin: "joins and leaves" },
});

// 00:01:30 — a moment of the lesson (ms from the replay's origin).
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, "0")).join(":");
}
