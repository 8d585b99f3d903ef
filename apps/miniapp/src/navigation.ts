/** Page URLs, as registered in pages.json. */
export const pageUrls = {
  home: "/pages/home/home",
  login: "/pages/login/login",
  me: "/pages/me/me",
  userAgreement: "/pages/legal/user-agreement",
  privacyPolicy: "/pages/legal/privacy-policy",
} as const;

/** The login page, over the page the user asked from: only ever on a tap that needs an account. */
export function openLogin(): void {
  uni.navigateTo({ url: pageUrls.login });
}

/** Home, as a guest or signed in: the first page, and where declining the login leads. */
export function reLaunchToHome(): void {
  uni.reLaunch({ url: pageUrls.home });
}

/**
 * Back to the login page, which signs in silently; after an explicit logout it waits for a tap
 * instead, or logging out would sign the same WeChat user straight back in.
 */
export function reLaunchToLogin(options: { signedOut?: boolean } = {}): void {
  uni.reLaunch({ url: options.signedOut ? `${pageUrls.login}?signedOut=1` : pageUrls.login });
}

export function reLaunchToProfile(): void {
  uni.reLaunch({ url: pageUrls.me });
}

export function openLegalPage(page: "userAgreement" | "privacyPolicy"): void {
  uni.navigateTo({ url: pageUrls[page] });
}
