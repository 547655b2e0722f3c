"""Recorded lessons: what the rooms wrote, the replay, 评课, 点播 and the 研修资源库."""
