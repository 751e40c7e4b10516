/*
 * secret.h - comparing a presented token with a configured secret.
 */
#ifndef DNI_SECRET_H
#define DNI_SECRET_H

/* 1 when given equals want, in time that depends only on want's length
 * (a wrong guess does not tell how much of it was right). */
int dni__secret_equal(const char *given, const char *want);

#endif /* DNI_SECRET_H */
