/* faultproxy.c: a TCP proxy that injects network faults for the sync tests:
 * the link goes down, swallows everything, dies mid-reply or crawls, as told
 * by a control file re-read while it runs. A test tool, never installed; one
 * thread, poll(), bounded buffers.
 *
 * usage: faultproxy LISTEN_PORT TARGET_HOST TARGET_PORT CONTROL_FILE
 * Listens on 127.0.0.1:LISTEN_PORT (0 = any free port) and prints "ready"
 * ("ready PORT" for 0) on stdout. CONTROL_FILE holds one word and an
 * optional number, re-read for every new connection and every ~50 ms:
 *   pass        forward both ways (also when the file is missing or unknown)
 *   down        close new connections at once, reset existing ones
 *   blackhole   accept and read, forward nothing either way
 *   cut N       forward N bytes server->client per connection, then reset both
 *   delay MS    hold each chunk MS milliseconds before forwarding it
 * Exits 0 on SIGTERM or SIGINT. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 128
#define BUF_BYTES (16 * 1024) /* per direction and connection */
#define CONTROL_MAX 128
#define RELOAD_MS 50

enum mode { MODE_PASS, MODE_DOWN, MODE_BLACKHOLE, MODE_CUT, MODE_DELAY };

struct control {
    enum mode mode;
    long long arg;
};

/* One direction of a connection: bytes read from one side, waiting to be
 * written to the other at ready_ms (delay mode). */
struct pipe_buf {
    char data[BUF_BYTES];
    size_t off;
    size_t len;
    int64_t ready_ms;
    bool eof;  /* the reading side sent FIN */
    bool shut; /* FIN passed on to the writing side */
};

struct conn {
    bool used;
    int cfd;              /* client side */
    int sfd;              /* server side, -1 without an upstream (blackhole from the start) */
    bool connecting;      /* sfd's non-blocking connect in progress */
    struct pipe_buf up;   /* client -> server */
    struct pipe_buf down; /* server -> client */
    long long sent_down;  /* bytes forwarded server -> client */
};

static volatile sig_atomic_t stop;
static struct conn conns[MAX_CONNS];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct control read_control(const char *path)
{
    struct control c = {MODE_PASS, 0};
    char buf[CONTROL_MAX + 1];
    char word[32];
    long long arg = 0;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return c;
    n = read(fd, buf, CONTROL_MAX);
    close(fd);
    if (n <= 0)
        return c;
    buf[n] = '\0';
    if (sscanf(buf, "%31s %lld", word, &arg) < 1)
        return c;
    if (arg < 0)
        arg = 0;
    if (strcmp(word, "down") == 0)
        c.mode = MODE_DOWN;
    else if (strcmp(word, "blackhole") == 0)
        c.mode = MODE_BLACKHOLE;
    else if (strcmp(word, "cut") == 0)
        c.mode = MODE_CUT;
    else if (strcmp(word, "delay") == 0)
        c.mode = MODE_DELAY;
    c.arg = arg;
    return c;
}

/* Closes fd with an RST instead of a FIN. */
static void reset_fd(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void conn_reset(struct conn *c)
{
    reset_fd(c->cfd);
    reset_fd(c->sfd);
    memset(c, 0, sizeof *c);
}

static void conn_close(struct conn *c)
{
    close(c->cfd);
    if (c->sfd >= 0)
        close(c->sfd);
    memset(c, 0, sizeof *c);
}

static int connect_target(const struct addrinfo *ai, bool *connecting)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);

    *connecting = false;
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        *connecting = true;
        return fd;
    }
    close(fd);
    return -1;
}

static void accept_one(int lfd, const struct addrinfo *target, const struct control *ctl)
{
    struct conn *c = NULL;
    int fd;
    int one = 1;
    size_t i;

    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (i = 0; i < MAX_CONNS && c == NULL; i++)
        if (!conns[i].used)
            c = &conns[i];
    if (c == NULL || ctl->mode == MODE_DOWN) {
        reset_fd(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(c, 0, sizeof *c);
    c->used = true;
    c->cfd = fd;
    c->sfd = -1;
    if (ctl->mode != MODE_BLACKHOLE) {
        c->sfd = connect_target(target, &c->connecting);
        if (c->sfd < 0) {
            conn_reset(c);
            return;
        }
        setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

/* Reads from fd into an empty b; false when the connection must be reset. */
static bool fill(int fd, struct pipe_buf *b, const struct control *ctl)
{
    ssize_t n = recv(fd, b->data, sizeof b->data, 0);

    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) {
        b->eof = true;
        return true;
    }
    b->off = 0;
    b->len = (size_t)n;
    b->ready_ms = now_ms() + (ctl->mode == MODE_DELAY ? ctl->arg : 0);
    return true;
}

/* Writes up to max bytes of b to fd; false when the connection must be reset. */
static bool drain(int fd, struct pipe_buf *b, size_t max, size_t *written)
{
    size_t len = b->len - b->off < max ? b->len - b->off : max;
    ssize_t n = send(fd, b->data + b->off, len, MSG_NOSIGNAL);

    *written = 0;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    b->off += (size_t)n;
    *written = (size_t)n;
    if (b->off == b->len)
        b->off = b->len = 0;
    return true;
}

static bool pending(const struct pipe_buf *b)
{
    return b->len > b->off;
}

/* Handles the poll results of one connection. */
static void service(struct conn *c, short cev, short sev, const struct control *ctl)
{
    bool black = ctl->mode == MODE_BLACKHOLE || c->sfd < 0;
    int64_t now = now_ms();
    size_t w = 0;

    if (((cev | (c->connecting ? 0 : sev)) & POLLERR) != 0) {
        conn_reset(c); /* a peer reset: pass it on */
        return;
    }
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (!(sev & (POLLOUT | POLLERR | POLLHUP)))
            return;
        if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            conn_reset(c);
            return;
        }
        c->connecting = false;
        return;
    }
    if (black) {
        /* read and discard both ways; close when both peers are gone */
        char sink[4096];
        if ((cev & (POLLIN | POLLHUP | POLLERR)) && recv(c->cfd, sink, sizeof sink, 0) == 0)
            c->up.eof = true;
        if (c->sfd >= 0 && (sev & (POLLIN | POLLHUP | POLLERR)) &&
            recv(c->sfd, sink, sizeof sink, 0) == 0)
            c->down.eof = true;
        if (c->up.eof && (c->sfd < 0 || c->down.eof))
            conn_close(c);
        return;
    }
    if ((cev & (POLLIN | POLLHUP | POLLERR)) && !pending(&c->up) && !c->up.eof &&
        !fill(c->cfd, &c->up, ctl)) {
        conn_reset(c);
        return;
    }
    if ((sev & (POLLIN | POLLHUP | POLLERR)) && !pending(&c->down) && !c->down.eof &&
        !fill(c->sfd, &c->down, ctl)) {
        conn_reset(c);
        return;
    }
    if (pending(&c->up) && c->up.ready_ms <= now && (sev & POLLOUT) &&
        !drain(c->sfd, &c->up, SIZE_MAX, &w)) {
        conn_reset(c);
        return;
    }
    if (pending(&c->down) && c->down.ready_ms <= now && (cev & POLLOUT)) {
        size_t max = SIZE_MAX;
        if (ctl->mode == MODE_CUT)
            max = c->sent_down < ctl->arg ? (size_t)(ctl->arg - c->sent_down) : 0;
        if (max > 0 && !drain(c->cfd, &c->down, max, &w)) {
            conn_reset(c);
            return;
        }
        c->sent_down += (long long)w;
    }
    if (ctl->mode == MODE_CUT && pending(&c->down) && c->sent_down >= ctl->arg) {
        conn_reset(c); /* the link dies mid-reply */
        return;
    }
    /* pass a FIN on once everything before it is written */
    if (c->up.eof && !pending(&c->up) && !c->up.shut) {
        shutdown(c->sfd, SHUT_WR);
        c->up.shut = true;
    }
    if (c->down.eof && !pending(&c->down) && !c->down.shut) {
        shutdown(c->cfd, SHUT_WR);
        c->down.shut = true;
    }
    if (c->up.shut && c->down.shut)
        conn_close(c);
}

static short client_events(const struct conn *c, bool black)
{
    short ev = 0;

    if (black || (!pending(&c->up) && !c->up.eof))
        ev |= POLLIN;
    if (!black && pending(&c->down))
        ev |= POLLOUT;
    return ev;
}

static short server_events(const struct conn *c, bool black)
{
    short ev = 0;

    if (c->connecting)
        return POLLOUT;
    if (black || (!pending(&c->down) && !c->down.eof))
        ev |= POLLIN;
    if (!black && pending(&c->up))
        ev |= POLLOUT;
    return ev;
}

static int listen_on(int port, int *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof sa;
    int one = 1;
    int fd;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    static struct pollfd pfd[1 + 2 * MAX_CONNS];
    static nfds_t at[MAX_CONNS]; /* each connection's first pfd entry */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *target = NULL;
    struct sigaction sa = {.sa_handler = on_signal};
    struct control ctl;
    int64_t next_reload;
    char *end;
    long port;
    nfds_t lfd_at;
    int bound = 0;
    int lfd;
    int rc;
    size_t i;

    if (argc != 5) {
        fprintf(stderr, "usage: faultproxy LISTEN_PORT TARGET_HOST TARGET_PORT CONTROL_FILE\n");
        return 2;
    }
    port = strtol(argv[1], &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, "faultproxy: bad port %s\n", argv[1]);
        return 2;
    }
    rc = getaddrinfo(argv[2], argv[3], &hints, &target);
    if (rc != 0) {
        fprintf(stderr, "faultproxy: %s:%s: %s\n", argv[2], argv[3], gai_strerror(rc));
        return 2;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    lfd = listen_on((int)port, &bound);
    if (lfd < 0) {
        perror("faultproxy: listen");
        freeaddrinfo(target);
        return 1;
    }
    if (port == 0)
        printf("ready %d\n", bound);
    else
        printf("ready\n");
    fflush(stdout);

    ctl = read_control(argv[4]);
    next_reload = now_ms() + RELOAD_MS;
    while (!stop) {
        int64_t now = now_ms();
        int64_t wake = next_reload;
        nfds_t n = 0;
        int timeout;

        for (i = 0; i < MAX_CONNS; i++) {
            struct conn *c = &conns[i];
            bool black = ctl.mode == MODE_BLACKHOLE || c->sfd < 0;
            if (!c->used)
                continue;
            at[i] = n;
            if (pending(&c->up) && c->up.ready_ms < wake)
                wake = c->up.ready_ms;
            if (pending(&c->down) && c->down.ready_ms < wake)
                wake = c->down.ready_ms;
            pfd[n++] = (struct pollfd){.fd = c->cfd, .events = client_events(c, black)};
            pfd[n++] = (struct pollfd){.fd = c->sfd, .events = server_events(c, black)};
        }
        lfd_at = n;
        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        timeout = wake > now ? (int)(wake - now) : 0;
        rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc < 0)
            continue;
        now = now_ms();
        if (now >= next_reload) {
            ctl = read_control(argv[4]);
            next_reload = now + RELOAD_MS;
            if (ctl.mode == MODE_DOWN)
                for (i = 0; i < MAX_CONNS; i++)
                    if (conns[i].used)
                        conn_reset(&conns[i]);
        }
        /* connections still in use were all in use before poll(): accept comes last */
        for (i = 0; i < MAX_CONNS; i++)
            if (conns[i].used)
                service(&conns[i], pfd[at[i]].revents, pfd[at[i] + 1].revents, &ctl);
        if (pfd[lfd_at].revents & POLLIN) {
            ctl = read_control(argv[4]);
            next_reload = now + RELOAD_MS;
            accept_one(lfd, target, &ctl);
        }
    }
    for (i = 0; i < MAX_CONNS; i++)
        if (conns[i].used)
            conn_close(&conns[i]);
    close(lfd);
    freeaddrinfo(target);
    return 0;
}
