/* dni_pool.h - the number-pool lease engine. Included from dni.h. */
#ifndef DNI_POOL_H
#define DNI_POOL_H
#endif /* DNI_POOL_H */
