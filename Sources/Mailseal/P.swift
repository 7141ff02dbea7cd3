import MailsealCA
