/* admitctl.h: the admitctl executable's command table, shared by its two
 * files (admitctl.c: keys, tokens, QR; admitctl-store.c: admitd's database).
 * Each command takes its own argv (argv[0] = the command name) and returns
 * the process exit status. Not a library interface. */
#ifndef ADM_ADMITCTL_H
#define ADM_ADMITCTL_H

enum { ADM_CTL_OK = 0, ADM_CTL_FAIL = 1, ADM_CTL_USAGE = 2 };

int adm_ctl_init(int argc, char **argv);
int adm_ctl_user(int argc, char **argv);
int adm_ctl_venue(int argc, char **argv);
int adm_ctl_event(int argc, char **argv);
int adm_ctl_type(int argc, char **argv);
int adm_ctl_order(int argc, char **argv);
int adm_ctl_ticket(int argc, char **argv);
int adm_ctl_checkin_list(int argc, char **argv);
int adm_ctl_enroll(int argc, char **argv);
int adm_ctl_device(int argc, char **argv);
int adm_ctl_checkin(int argc, char **argv);

#endif
