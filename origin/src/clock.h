/*
 * clock.h - the origin's one reading of the time: wall-clock Unix
 * seconds, as stored in the database (leases, calls, grants).
 */
#ifndef DNI_CLOCK_H
#define DNI_CLOCK_H

/* Wall-clock time in Unix seconds, with sub-second precision. */
double dni__now(void);

#endif /* DNI_CLOCK_H */
