import type { Dialog } from "./account-flow";

const DANGER_COLOR = "#f54a45";

/** uni.showModal with 取消 and a red confirm button; true when the user confirms. */
export function confirmDialog({ title, content, confirmText = "确定" }: Dialog): Promise<boolean> {
  return new Promise((resolve) => {
    uni.showModal({
      title,
      content,
      confirmText,
      confirmColor: DANGER_COLOR,
      success: ({ confirm }) => resolve(confirm),
      fail: () => resolve(false),
    });
  });
}

/** uni.showModal with one button; settles once the user has read it. */
export function informDialog({ title, content, confirmText = "知道了" }: Dialog): Promise<void> {
  return new Promise((resolve) => {
    uni.showModal({ title, content, confirmText, showCancel: false, complete: () => resolve() });
  });
}
