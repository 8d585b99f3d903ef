/**
 * Picks one image from the device and resolves with its local temp path, or undefined when the
 * user cancels. H5's stand-in for WeChat's chooseAvatar button, which only WeChat has.
 */
export function chooseImageFile(): Promise<string | undefined> {
  return new Promise((resolve) => {
    uni.chooseImage({
      count: 1,
      sizeType: ["compressed"],
      success: ({ tempFilePaths }) => {
        const [filePath] = Array.isArray(tempFilePaths) ? tempFilePaths : [tempFilePaths];
        resolve(filePath);
      },
      fail: () => resolve(undefined),
    });
  });
}
