export { LogMailer } from "./log-mailer.js";
export { MAIL_QUEUE, MailService, type MailSettings, type OutgoingMail } from "./mail-service.js";
export { htmlToPlainText, type MailAddress, type Mailer, type MailMessage } from "./mailer.js";
export { type EmailTemplateText, renderEmail, type TemplateValues } from "./render-email.js";
export { type SmtpConfig, SmtpMailer } from "./smtp-mailer.js";
